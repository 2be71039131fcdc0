/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-uri-template"

#include "cf-prompt-template.h"
#include "cf-uri-template.h"

#include <string.h>

typedef struct {
  const char *template;
  const char *expected;
} ExpandCase;

/* @expected lists "name=value" pairs sorted by name and joined by '&', or
 * is %NULL when @uri must not match. */
typedef struct {
  const char *template;
  const char *uri;
  const char *expected;
} MatchCase;

/* The variables of RFC 6570, section 1.2. */
static GHashTable *
rfc_variables (void)
{
  GHashTable *variables = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (variables, "var", "value");
  g_hash_table_insert (variables, "hello", "Hello World!");
  g_hash_table_insert (variables, "path", "/foo/bar");
  g_hash_table_insert (variables, "empty", "");
  g_hash_table_insert (variables, "x", "1024");
  g_hash_table_insert (variables, "y", "768");
  return variables;
}

static void
check_expansions (const ExpandCase *cases,
                  gsize             n_cases,
                  GHashTable       *variables)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CfUriTemplate) template = cf_uri_template_new (cases[i].template, &error);
      g_autofree char *uri = NULL;

      g_test_message ("template: %s", cases[i].template);
      g_assert_no_error (error);
      uri = cf_uri_template_expand (template, variables);
      g_assert_cmpstr (uri, ==, cases[i].expected);
    }
}

static void
test_expand_level1 (void)
{
  static const ExpandCase cases[] = {
    { "{var}", "value" },
    { "{hello}", "Hello%20World%21" },
  };
  g_autoptr(GHashTable) variables = rfc_variables ();

  check_expansions (cases, G_N_ELEMENTS (cases), variables);
}

static void
test_expand_level2 (void)
{
  static const ExpandCase cases[] = {
    { "{+var}", "value" },
    { "{+hello}", "Hello%20World!" },
    { "{+path}/here", "/foo/bar/here" },
    { "here?ref={+path}", "here?ref=/foo/bar" },
    { "X{#var}", "X#value" },
    { "X{#hello}", "X#Hello%20World!" },
  };
  g_autoptr(GHashTable) variables = rfc_variables ();

  check_expansions (cases, G_N_ELEMENTS (cases), variables);
}

static void
test_expand_level3 (void)
{
  static const ExpandCase cases[] = {
    { "map?{x,y}", "map?1024,768" },
    { "{x,hello,y}", "1024,Hello%20World%21,768" },
    { "{+x,hello,y}", "1024,Hello%20World!,768" },
    { "{+path,x}/here", "/foo/bar,1024/here" },
    { "{#x,hello,y}", "#1024,Hello%20World!,768" },
    { "{#path,x}/here", "#/foo/bar,1024/here" },
    { "X{.var}", "X.value" },
    { "X{.x,y}", "X.1024.768" },
    { "{/var}", "/value" },
    { "{/var,x}/here", "/value/1024/here" },
    { "{;x,y}", ";x=1024;y=768" },
    { "{;x,y,empty}", ";x=1024;y=768;empty" },
    { "{?x,y}", "?x=1024&y=768" },
    { "{?x,y,empty}", "?x=1024&y=768&empty=" },
    { "?fixed=yes{&x}", "?fixed=yes&x=1024" },
    { "{&x,y,empty}", "&x=1024&y=768&empty=" },
  };
  g_autoptr(GHashTable) variables = rfc_variables ();

  check_expansions (cases, G_N_ELEMENTS (cases), variables);
}

/* Level 4 prefixes, from RFC 6570 section 3.2.1 and onward. */
static void
test_expand_prefix (void)
{
  static const ExpandCase cases[] = {
    { "{var:3}", "val" },
    { "{var:30}", "value" },
    { "{+path:6}/here", "/foo/b/here" },
    { "{#path:6}/here", "#/foo/b/here" },
    { "X{.var:3}", "X.val" },
    { "{/var:1,var}", "/v/value" },
    { "{;hello:5}", ";hello=Hello" },
    { "{?var:3}", "?var=val" },
    { "{&var:3}", "&var=val" },
    { "{var*}", "value" },
  };
  g_autoptr(GHashTable) variables = rfc_variables ();

  check_expansions (cases, G_N_ELEMENTS (cases), variables);
}

static void
test_expand_edges (void)
{
  static const ExpandCase cases[] = {
    { "{undef}", "" },
    { "a{/undef}b{?undef,x}", "ab?x=1024" },
    { "{undef,x}", "1024" },
    { "{empty}-{+empty}-{#empty}-{.empty}-{/empty}", "--#-.-/" },
    { "a|b^c", "a%7Cb%5Ec" },
    { "{uni}", "caf%C3%A9%20%E2%82%AC" },
    { "{uni:4}", "caf%C3%A9" },
    { "{+pct}", "a%20b%25zz" },
    { "{pct}", "a%2520b%25zz" },
    { "literal space and caf\xc3\xa9", "literal%20space%20and%20caf%C3%A9" },
  };
  g_autoptr(GHashTable) variables = rfc_variables ();

  g_hash_table_insert (variables, "uni", "caf\xc3\xa9 \xe2\x82\xac");
  g_hash_table_insert (variables, "pct", "a%20b%zz");
  check_expansions (cases, G_N_ELEMENTS (cases), variables);

  {
    g_autoptr(CfUriTemplate) template = cf_uri_template_new ("x{y}z", NULL);
    g_autofree char *uri = cf_uri_template_expand (template, NULL);

    g_assert_cmpstr (uri, ==, "xz");
  }
}

static void
test_parse_errors (void)
{
  static const char * const invalid[] = {
    "{", "}", "{var", "var}", "{}", "{{var}}", "{var}}", "{ var}", "{var name}", "{=var}",
    "{,var}", "{!var}", "{@var}", "{|var}", "{var,}", "{.}", "{var.}", "{.var.}", "{a..b}",
    "{var:0}", "{var:10000}", "{var:x}", "{var*3}", "{var%zz}", "{+}", "{?}", "a{b{c}d}",
  };
  g_autofree char *braces = g_strnfill (10000, '{');
  g_autofree char *closing = g_strnfill (10000, '}');

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CfUriTemplate) template = cf_uri_template_new (invalid[i], &error);

      g_test_message ("template: %s", invalid[i]);
      g_assert_null (template);
      g_assert_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_SYNTAX);
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(CfUriTemplate) template = cf_uri_template_new (braces, &error);

    g_assert_null (template);
    g_assert_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_SYNTAX);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(CfUriTemplate) template = cf_uri_template_new (closing, &error);

    g_assert_null (template);
    g_assert_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_SYNTAX);
  }
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static char *
format_values (GHashTable *values)
{
  g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (values, NULL);
  GString *out = g_string_new (NULL);

  qsort (names, g_hash_table_size (values), sizeof (char *), compare_names);
  for (guint i = 0; names[i] != NULL; i++)
    g_string_append_printf (out, "%s%s=%s", i > 0 ? "&" : "", names[i],
                            (const char *) g_hash_table_lookup (values, names[i]));
  return g_string_free (out, FALSE);
}

static void
check_matches (const MatchCase *cases,
               gsize            n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CfUriTemplate) template = cf_uri_template_new (cases[i].template, &error);
      g_autoptr(GHashTable) values = NULL;
      g_autofree char *formatted = NULL;

      g_test_message ("template: %s, uri: %s", cases[i].template, cases[i].uri);
      g_assert_no_error (error);
      values = cf_uri_template_match (template, cases[i].uri);
      if (values != NULL)
        formatted = format_values (values);
      g_assert_cmpstr (formatted, ==, cases[i].expected);
    }
}

static void
test_match_simple (void)
{
  static const MatchCase cases[] = {
    { "test://template/{id}/data", "test://template/123/data", "id=123" },
    { "test://template/{id}/data", "test://template/1/2/data", NULL },
    { "test://template/{id}/data", "test://template/123/other", NULL },
    { "test://template/{id}/data", "test://template/123/data/", NULL },
    { "test://template/{id}/data", "prefix-test://template/123/data", NULL },
    { "test://template/{id}/data", "test://template//data", "id=" },
    { "test://template/{id}/data", "test://template/a%20b%2Fc/data", "id=a b/c" },
    { "test://template/{id}/data", "test://template/caf%C3%A9/data", "id=caf\xc3\xa9" },
    { "test://template/{id}/data", "test://template/a,b/data", "id=a,b" },
    { "test://template/{id}/data", "test://template/100%/data", NULL },
    { "test://template/{id}/data", "test://template/%zz/data", NULL },
    { "test://template/{id}/data", "test://template/%00/data", NULL },
    { "test://template/{id}/data", "test://template/%FF/data", NULL },
    { "users/{user}/repos/{repo}", "users/ada/repos/engine", "repo=engine&user=ada" },
    { "{x}/{x}", "a/a", "x=a" },
    { "{x}/{x}", "a/b", NULL },
    { "static", "static", "" },
    { "static", "other", NULL },
    { "a.b{c}", "aXb1", NULL },
  };

  check_matches (cases, G_N_ELEMENTS (cases));
}

static void
test_match_operators (void)
{
  static const MatchCase cases[] = {
    { "file:///{+path}", "file:///a/b/c.txt", "path=a/b/c.txt" },
    { "{+path}/here", "/foo/bar/here", "path=/foo/bar" },
    { "X{#hello}", "X#Hello%20World!", "hello=Hello World!" },
    { "map?{x,y}", "map?1024,768", "x=1024&y=768" },
    { "{x,hello,y}", "1024,Hello%20World%21,768", "hello=Hello World!&x=1024&y=768" },
    { "{+path,x}/here", "/foo/bar,1024/here", "path=/foo/bar&x=1024" },
    { "{#path,x}/here", "#/foo/bar,1024/here", "path=/foo/bar&x=1024" },
    { "X{.x,y}", "X.1024.768", "x=1024&y=768" },
    { "X{.x,y}", "X.1024", "x=1024" },
    { "{/var,x}/here", "/value/1024/here", "var=value&x=1024" },
    { "{/var}", "/a/b", NULL },
    { "{;x,y,empty}", ";x=1024;y=768;empty", "empty=&x=1024&y=768" },
    { "?fixed=yes{&x}", "?fixed=yes&x=1024", "x=1024" },
    { "?fixed=yes{&x}", "?fixed=yes", "" },
  };

  check_matches (cases, G_N_ELEMENTS (cases));
}

static void
test_match_query (void)
{
  static const MatchCase cases[] = {
    { "search{?q,lang}", "search?q=cats&lang=en", "lang=en&q=cats" },
    { "search{?q,lang}", "search?lang=en&q=cats", "lang=en&q=cats" },
    { "search{?q,lang}", "search?q=cats", "q=cats" },
    { "search{?q,lang}", "search", "" },
    { "search{?q,lang}", "search?", "" },
    { "search{?q,lang}", "search?q=", "q=" },
    { "search{?q,lang}", "search?q", "q=" },
    { "search{?q,lang}", "search?q=a%26b%3Dc", "q=a&b=c" },
    { "search{?q,lang}", "search?other=1&q=x", "q=x" },
    { "search{?q,lang}", "search?q=x#fragment", "q=x" },
    { "search{?q,lang}", "search?q=1&q=2", NULL },
    { "search{?q,lang}", "search?q=%zz", NULL },
    { "search{?q,lang}", "elsewhere?q=x", NULL },
    { "res://{id}{?q}{&lang}", "res://7?lang=fr&q=1", "id=7&lang=fr&q=1" },
    { "res://{id}{?q}", "res://7/8?q=1", NULL },
  };

  check_matches (cases, G_N_ELEMENTS (cases));
}

static void
test_match_round_trip (void)
{
  static const char * const templates[] = {
    "{var}", "{+path}/here", "X{#hello}", "{x,hello,y}", "X{.x,y}", "{/var,x}/here",
    "{;x,y,empty}", "{?x,y,empty}", "test://template/{var}/data{?x,hello}",
  };
  g_autoptr(GHashTable) variables = rfc_variables ();

  for (guint i = 0; i < G_N_ELEMENTS (templates); i++)
    {
      g_autoptr(CfUriTemplate) template = cf_uri_template_new (templates[i], NULL);
      g_autofree char *uri = cf_uri_template_expand (template, variables);
      g_autoptr(GHashTable) values = cf_uri_template_match (template, uri);
      g_auto(GStrv) names = cf_uri_template_get_variables (template);

      g_test_message ("template: %s, uri: %s", templates[i], uri);
      g_assert_nonnull (values);
      for (guint j = 0; names[j] != NULL; j++)
        g_assert_cmpstr (g_hash_table_lookup (values, names[j]), ==,
                         g_hash_table_lookup (variables, names[j]));
    }
}

/* Hostile URIs and templates end quickly in no match; a template of many
 * adjacent variables must not backtrack forever either. */
static void
test_match_hostile (void)
{
  g_autofree char *braces = g_strnfill (10000, '{');
  g_autofree char *long_uri = g_strnfill (100000, 'a');
  g_autofree char *slashes = g_strnfill (100000, '/');
  g_autoptr(GString) adjacent = g_string_new (NULL);
  g_autoptr(CfUriTemplate) simple = cf_uri_template_new ("test://template/{id}/data", NULL);
  g_autoptr(CfUriTemplate) greedy = NULL;
  g_autoptr(GHashTable) values = NULL;
  const char *uris[] = { braces, long_uri, slashes, "", "\xff\xfe", "test://template/\xc3/data" };

  for (guint i = 0; i < G_N_ELEMENTS (uris); i++)
    {
      g_autoptr(GHashTable) none = cf_uri_template_match (simple, uris[i]);

      g_assert_null (none);
    }

  for (guint i = 0; i < 30; i++)
    g_string_append_printf (adjacent, "{v%u}", i);
  g_string_append (adjacent, "z");
  greedy = cf_uri_template_new (adjacent->str, NULL);
  values = cf_uri_template_match (greedy, long_uri);
  g_assert_null (values);
}

static void
test_variables (void)
{
  static const char * const expected[] = { "scheme", "path", "q", "lang", "frag", NULL };
  static const char * const none[] = { NULL };
  g_autoptr(CfUriTemplate) template =
    cf_uri_template_new ("{scheme}://{+path}/{scheme}{?q,lang}{&q}{#frag}", NULL);
  g_autoptr(CfUriTemplate) plain = cf_uri_template_new ("no/variables", NULL);
  g_auto(GStrv) variables = cf_uri_template_get_variables (template);
  g_auto(GStrv) no_variables = cf_uri_template_get_variables (plain);
  CfUriTemplate *ref = cf_uri_template_ref (template);

  g_assert_cmpstrv (variables, expected);
  g_assert_cmpstrv (no_variables, none);
  g_assert_cmpstr (cf_uri_template_get_source (ref), ==,
                   "{scheme}://{+path}/{scheme}{?q,lang}{&q}{#frag}");
  cf_uri_template_unref (ref);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/uri-template/expand/level1", test_expand_level1);
  g_test_add_func ("/uri-template/expand/level2", test_expand_level2);
  g_test_add_func ("/uri-template/expand/level3", test_expand_level3);
  g_test_add_func ("/uri-template/expand/prefix", test_expand_prefix);
  g_test_add_func ("/uri-template/expand/edges", test_expand_edges);
  g_test_add_func ("/uri-template/parse-errors", test_parse_errors);
  g_test_add_func ("/uri-template/match/simple", test_match_simple);
  g_test_add_func ("/uri-template/match/operators", test_match_operators);
  g_test_add_func ("/uri-template/match/query", test_match_query);
  g_test_add_func ("/uri-template/match/round-trip", test_match_round_trip);
  g_test_add_func ("/uri-template/match/hostile", test_match_hostile);
  g_test_add_func ("/uri-template/variables", test_variables);

  return g_test_run ();
}
