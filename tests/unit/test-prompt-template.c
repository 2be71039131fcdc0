/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-prompt-template"

#include "cf-prompt-template.h"

#include <string.h>

/* Expected outputs are what Jinja 3 renders for the same template, except
 * where a comment says the gateway is deliberately stricter. */

typedef struct {
  const char *source;
  const char *arguments;
  const char *expected;
} RenderCase;

typedef struct {
  const char     *source;
  const char     *arguments;
  CfTemplateError code;
  const char     *message_part;
} ErrorCase;

static char *
render (const char *source,
        const char *arguments,
        GError    **error)
{
  g_autoptr(CfPromptTemplate) template = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) json_error = NULL;

  node = json_from_string (arguments != NULL ? arguments : "{}", &json_error);
  g_assert_no_error (json_error);

  if ((template = cf_prompt_template_new (source, error)) == NULL)
    return NULL;
  return cf_prompt_template_render (template, json_node_get_object (node), error);
}

static void
check_render (const char *source,
              const char *arguments,
              const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;

  {
    /* Hostile sources are not valid UTF-8; TAP output must be. */
    g_autofree char *shown = g_strescape (source, NULL);
    g_test_message ("template: %.200s", shown);
  }
  output = render (source, arguments, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (output, ==, expected);
}

static void
check_renders (const RenderCase *cases,
               gsize             n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    check_render (cases[i].source, cases[i].arguments, cases[i].expected);
}

static void
check_errors (const ErrorCase *cases,
              gsize            n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *output = NULL;

      {
        g_autofree char *shown = g_strescape (cases[i].source, NULL);
        g_test_message ("template: %.200s", shown);
      }
      output = render (cases[i].source, cases[i].arguments, &error);
      g_assert_null (output);
      g_assert_error (error, CF_TEMPLATE_ERROR, (int) cases[i].code);
      {
        g_autofree char *shown = g_utf8_make_valid (error->message, -1);
        g_test_message ("error: %s", shown);
      }
      if (cases[i].message_part != NULL)
        g_assert_nonnull (strstr (error->message, cases[i].message_part));
    }
}

static void
test_text (void)
{
  static const RenderCase cases[] = {
    { "", NULL, "" },
    { "plain text { not a tag } %}", NULL, "plain text { not a tag } %}" },
    { "a{# a comment {{ x }} #}b", NULL, "ab" },
    { "line\r\nnext\rlast", NULL, "line\nnext\nlast" },
    /* Jinja drops one trailing newline by default */
    { "text\n", NULL, "text" },
    { "text\n\n", NULL, "text\n" },
    { "{% raw %}{{ x }}{% if %}{% endraw %}", NULL, "{{ x }}{% if %}" },
    { "caf\xc3\xa9 {{ 'na\xc3\xafve' }}", NULL, "caf\xc3\xa9 na\xc3\xafve" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_whitespace_control (void)
{
  static const RenderCase cases[] = {
    { "a  {{- x -}}  b", "{\"x\": 1}", "a1b" },
    { "a\n  {%- if true -%}\n  b\n  {%- endif -%}\n  c", NULL, "abc" },
    { "a {#- comment -#} b", NULL, "ab" },
    { "{% for x in [1, 2] %}\n{{ x }}{% endfor %}", NULL, "\n1\n2" },
    { "{% for x in [1, 2] -%}\n  {{ x }}\n{%- endfor %}", NULL, "12" },
    { "a {%- raw -%} {{ b }} {%- endraw -%} c", NULL, "a{{ b }}c" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_expressions (void)
{
  static const RenderCase cases[] = {
    { "Hello {{ name }}!", "{\"name\": \"World\"}", "Hello World!" },
    { "{{ user.name }} {{ user['name'] }} {{ user[\"age\"] }}",
      "{\"user\": {\"name\": \"Ada\", \"age\": 36}}", "Ada Ada 36" },
    { "{{ items[0] }} {{ items[-1] }} {{ items.1 }} {{ nested[1][0] }}",
      "{\"items\": [\"a\", \"b\"], \"nested\": [[1], [2]]}", "a b b 2" },
    { "{{ 'single' }} {{ \"double\" }} {{ 'it\\'s' }} {{ \"a\\\\b\" }} {{ 'tab\\tend' }}", NULL,
      "single double it's a\\b tab\tend" },
    { "{{ '\\u00e9\\x41' }}", NULL, "\xc3\xa9" "A" },
    { "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}", NULL, "True True False None None" },
    { "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 - 10 }} {{ -x }}", "{\"x\": 4}", "7 9 -3 -4" },
    { "{{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }}", NULL,
      "3.5 2.0 3 -4 1 2" },
    { "{{ 1.5 + 1 }} {{ 2 * 0.5 }} {{ 5.5 % 2 }}", NULL, "2.5 1.0 1.5" },
    { "{{ 'a' ~ 1 ~ true ~ none }} {{ 'ab' + 'cd' }} {{ 'ab' * 3 }}", NULL,
      "a1TrueNone abcd ababab" },
    { "{{ [1, 2] + [3] }} {{ [] }}", NULL, "[1, 2, 3] []" },
    { "{{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 < 10 }} {{ 'b' > 'a' }} {{ 2 <= 2 }} {{ 3 >= 4 }}",
      NULL, "True True True True True False" },
    { "{{ [1, [2]] == [1, [2]] }} {{ d == e }} {{ d == f }} {{ 1 == true }} {{ none == 0 }}",
      "{\"d\": {\"a\": [1]}, \"e\": {\"a\": [1]}, \"f\": {\"a\": [2]}}",
      "True True False True False" },
    { "{{ true and 'x' }} {{ 0 and 'x' }} {{ '' or 'y' }} {{ 'a' or 'b' }} {{ not 0 }}", NULL,
      "x 0 y a True" },
    { "{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }} "
      "{{ 3 not in [1] }}",
      "{\"d\": {\"k\": 1}}", "True True True True True" },
    { "{{ x is defined }} {{ y is defined }} {{ y is not defined }} {{ n is none }} "
      "{{ x is not none }}",
      "{\"x\": 1, \"n\": null}", "True False True True True" },
    { "{{ 'yes' if x else 'no' }} {{ 'shown' if x }}|{{ 'hidden' if not x }}|", "{\"x\": 1}",
      "yes shown||" },
    { "{{ 'hello'[1:3] }} {{ [1, 2, 3][1:] }} {{ 'hello'[:-1] }} {{ 'h\xc3\xa9llo'[1] }}", NULL,
      "el [2, 3] hell \xc3\xa9" },
    { "{{ range(3) }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | join(',') }}", NULL,
      "[0, 1, 2] [1, 3, 5] 3,2,1" },
    { "{{ d.keys() | list }} {{ d.values() }} {{ d.get('b') }} {{ d.get('z', 0) }}",
      "{\"d\": {\"a\": 1, \"b\": 2}}", "['a', 'b'] [1, 2] 2 0" },
    { "{{ 'a,b'.split(',') }} {{ ' x  y '.split() }} {{ s.upper() }} {{ s.startswith('H') }}",
      "{\"s\": \"Hi\"}", "['a', 'b'] ['x', 'y'] HI True" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_values (void)
{
  static const RenderCase cases[] = {
    { "{{ i }} {{ f }} {{ whole }} {{ neg }}",
      "{\"i\": 42, \"f\": 2.5, \"whole\": 3.0, \"neg\": -0.5}", "42 2.5 3.0 -0.5" },
    { "{{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }}", NULL,
      "0.30000000000000004 0.3333333333333333 1e+16 1000000000000000.0 0.0001 1e-05" },
    { "{{ 9223372036854775807 }} {{ 100.0 }} {{ 1.5e300 * 1e10 }}", NULL,
      "9223372036854775807 100.0 inf" },
    { "{{ l }} {{ d }}", "{\"l\": [1, \"a\", null, true, 2.0], \"d\": {\"k\": \"it's\"}}",
      "[1, 'a', None, True, 2.0] {'k': \"it's\"}" },
    { "{{ s }}", "{\"s\": \"<b> & 'q'\"}", "<b> & 'q'" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_truthiness (void)
{
  static const RenderCase cases[] = {
    { "{% for v in values %}{{ 'T' if v else 'F' }}{% endfor %}",
      "{\"values\": [\"\", \"x\", [], [0], {}, {\"a\": 1}, 0, 1, 0.0, 0.5, false, true, null]}",
      "FTFTFTFTFTFTF" },
    { "{% if missing %}yes{% else %}no{% endif %}", NULL, "no" },
    { "{% if missing.attr or also_missing['k'] %}yes{% else %}no{% endif %}", NULL, "no" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_filters (void)
{
  static const RenderCase cases[] = {
    { "{{ missing | default('anon') }} {{ x | d('unused') }} {{ '' | default('e') }}|"
      "{{ '' | default('e', true) }} {{ none | d('n', boolean=true) }}",
      "{\"x\": \"set\"}", "anon set |e n" },
    { "{{ 'Hello' | upper }} {{ 'Hello' | lower }} {{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}",
      NULL, "HELLO hello pad|hi" },
    { "{{ 'hello wORLD-foo (bar)' | title }} {{ 'hELLO world' | capitalize }}", NULL,
      "Hello World-Foo (Bar) Hello world" },
    { "{{ 'h\xc3\xa9llo' | length }} {{ [1, 2] | count }} {{ d | length }}",
      "{\"d\": {\"a\": 1}}", "5 2 1" },
    { "{{ [1, 'a', 2.5] | join }} {{ ['a', 'b'] | join(', ') }} {{ 'abc' | join('-') }}", NULL,
      "1a2.5 a, b a-b-c" },
    { "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '-') }}",
      NULL, "bbb bba -a-b-" },
    { "{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ 'xyz' | first }} {{ [] | first is defined }}",
      NULL, "3 2 x False" },
    { "{{ '42' | int }} {{ '3.9' | int }} {{ 'x' | int }} {{ 'x' | int(-1) }} {{ 2.7 | int }} "
      "{{ true | int }}",
      NULL, "42 3 0 -1 2 1" },
    { "{{ '2.5' | float }} {{ 3 | float }} {{ 'x' | float }} {{ ' 1e3 ' | float }}", NULL,
      "2.5 3.0 0.0 1000.0" },
    { "{{ 12 | string }} {{ [1] | string }} {{ (1 | string) ~ 2 }}", NULL, "12 [1] 12" },
    { "{{ d | tojson }}",
      "{\"d\": {\"b\": [1, 2.5, null, true], \"a\": \"<&'\\u00e9>\"}}",
      "{\"a\": \"\\u003c\\u0026\\u0027\\u00e9\\u003e\", \"b\": [1, 2.5, null, true]}" },
    { "{{ '<a href=\"x\">Tom & \\'Jerry\\'</a>' | escape }} {{ '<' | e }}", NULL,
      "&lt;a href=&#34;x&#34;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt; &lt;" },
    { "{{ 'foo bar baz qux' | truncate(9) }} {{ 'foo bar baz qux' | truncate(9, true) }} "
      "{{ 'short' | truncate(3, leeway=5) }} {{ 'abcdefghij' | truncate(5, end='~', leeway=0) }}",
      NULL, "foo... foo ba... short abcd~" },
    { "{{ 'foo bar baz quux corge' | truncate(11) }}", NULL, "foo bar..." },
    { "{{ 'abc' | list }} {{ d | list }} {{ [2, 1] | list }}", "{\"d\": {\"k\": 1}}",
      "['a', 'b', 'c'] ['k'] [2, 1]" },
    { "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A'] | sort(case_sensitive=true) }} "
      "{{ [1, 3, 2] | sort(reverse=true) }}",
      NULL, "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b'] [3, 2, 1]" },
    { "{{ 'abc' | reverse }} {{ [1, 2, 3] | reverse }}", NULL, "cba [3, 2, 1]" },
    { "{{ 'one two, three_four!' | wordcount }}", NULL, "3" },
    { "{{ 2.5 | round }} {{ 3.5 | round }} {{ 3.14159 | round(2) }} {{ 2.1 | round(method='ceil') }} "
      "{{ 2.9 | round(0, 'floor') }} {{ 5 | round }}",
      NULL, "2.0 4.0 3.14 3.0 2.0 5" },
    { "{{ name | default('x') | upper | replace('X', 'y') }}", NULL, "y" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_sort_by_attribute (void)
{
  static const RenderCase cases[] = {
    { "{% for u in users | sort(attribute='name') %}{{ u.name }}{% endfor %}",
      "{\"users\": [{\"name\": \"b\"}, {\"name\": \"A\"}, {\"name\": \"c\"}]}", "Abc" },
    { "{% for u in users | sort(attribute='age', reverse=true) %}{{ u.name }}{% endfor %}",
      "{\"users\": [{\"name\": \"x\", \"age\": 3}, {\"name\": \"y\", \"age\": 30}, "
      "{\"name\": \"z\", \"age\": 3}]}", "yxz" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_if (void)
{
  static const RenderCase cases[] = {
    { "{% if x > 1 %}big{% elif x == 1 %}one{% else %}small{% endif %}", "{\"x\": 2}", "big" },
    { "{% if x > 1 %}big{% elif x == 1 %}one{% else %}small{% endif %}", "{\"x\": 1}", "one" },
    { "{% if x > 1 %}big{% elif x == 1 %}one{% else %}small{% endif %}", "{\"x\": 0}", "small" },
    { "{% if a %}{% if b %}ab{% else %}a{% endif %}{% endif %}", "{\"a\": 1, \"b\": 0}", "a" },
    { "{% if x is defined and x %}set{% endif %}", NULL, "" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_for (void)
{
  static const RenderCase cases[] = {
    { "{% for x in items %}{{ loop.index }}.{{ x }}{% if not loop.last %}, {% endif %}{% endfor %}",
      "{\"items\": [\"a\", \"b\", \"c\"]}", "1.a, 2.b, 3.c" },
    { "{% for x in items %}{{ loop.index0 }}{{ loop.first }}{{ loop.length }}"
      "{{ loop.revindex }}|{% endfor %}",
      "{\"items\": [1, 2]}", "0True22|1False21|" },
    { "{% for x in items %}{{ x }}{% else %}empty{% endfor %}", "{\"items\": []}", "empty" },
    { "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
      "{\"d\": {\"b\": 1, \"a\": [2]}}", "b=1;a=[2];" },
    { "{% for k in d %}{{ k }}{% endfor %}", "{\"d\": {\"x\": 1, \"y\": 2}}", "xy" },
    { "{% for c in 'ab' %}[{{ c }}]{% endfor %}", NULL, "[a][b]" },
    { "{% for row in rows %}{% for c in row %}{{ loop.index }}{{ c }}{% endfor %};{% endfor %}",
      "{\"rows\": [[\"a\", \"b\"], [\"c\"]]}", "1a2b;1c;" },
    { "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}", NULL, "3 7 " },
    { "{% for x in [1, 2, 3] %}{{ loop.previtem | default('-') }}{{ loop.nextitem | d('-') }} "
      "{% endfor %}",
      NULL, "-2 13 2- " },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_set (void)
{
  static const RenderCase cases[] = {
    { "{% set greeting = 'Hi ' ~ name %}{{ greeting }}", "{\"name\": \"Bo\"}", "Hi Bo" },
    /* A set inside a loop neither leaks out nor carries between turns */
    { "{% set x = 0 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}", NULL,
      "120" },
    { "{% for i in [1] %}{% set inner = 5 %}{% endfor %}{{ inner is defined }}", NULL, "False" },
    { "{% set name = 'local' %}{{ name }}", "{\"name\": \"argument\"}", "local" },
    { "{% if true %}{% set y = 2 %}{% endif %}{{ y }}", NULL, "2" },
    { "{% set u = missing %}{{ u is defined }}", NULL, "False" },
  };

  check_renders (cases, G_N_ELEMENTS (cases));
}

static void
test_undefined (void)
{
  static const ErrorCase cases[] = {
    { "Hello {{ name }}", NULL, CF_TEMPLATE_ERROR_UNDEFINED, "'name' is undefined" },
    { "{{ user.email }}", "{\"user\": {}}", CF_TEMPLATE_ERROR_UNDEFINED, "'user.email'" },
    { "{{ user.email }}", NULL, CF_TEMPLATE_ERROR_UNDEFINED, "'user' is undefined" },
    { "{{ items[5] }}", "{\"items\": []}", CF_TEMPLATE_ERROR_UNDEFINED, "'items[5]'" },
    { "{{ name | upper }}", NULL, CF_TEMPLATE_ERROR_UNDEFINED, "'name'" },
    { "{{ 'a' ~ b }}", NULL, CF_TEMPLATE_ERROR_UNDEFINED, "'b'" },
    { "{% for x in things %}{% endfor %}", NULL, CF_TEMPLATE_ERROR_UNDEFINED, "'things'" },
    { "line one\n{% if true %}\n{{ late }}{% endif %}", NULL, CF_TEMPLATE_ERROR_UNDEFINED,
      "line 3:" },
    { "{% if x is defined %}{% endif %}{{ [] | first }}", NULL, CF_TEMPLATE_ERROR_UNDEFINED,
      "'[...]|first'" },
  };

  check_errors (cases, G_N_ELEMENTS (cases));
}

static void
test_render_errors (void)
{
  static const ErrorCase cases[] = {
    { "{{ 1 / 0 }}", NULL, CF_TEMPLATE_ERROR_FILTER, "division by zero" },
    { "{{ 1 % 0 }}", NULL, CF_TEMPLATE_ERROR_FILTER, "division by zero" },
    { "{{ 'a' + 1 }}", NULL, CF_TEMPLATE_ERROR_FILTER, "unsupported operand" },
    { "{{ 1 < 'a' }}", NULL, CF_TEMPLATE_ERROR_FILTER, "cannot be ordered" },
    { "{{ 1 in 2 }}", NULL, CF_TEMPLATE_ERROR_FILTER, NULL },
    { "{{ 5 | length }}", NULL, CF_TEMPLATE_ERROR_FILTER, "no length" },
    { "{{ 'x' | round }}", NULL, CF_TEMPLATE_ERROR_FILTER, NULL },
    { "{{ [1, 'a'] | sort }}", NULL, CF_TEMPLATE_ERROR_FILTER, NULL },
    { "{{ 'x'.items() }}", NULL, CF_TEMPLATE_ERROR_FILTER, NULL },
    { "{% for a, b in [1] %}{% endfor %}", NULL, CF_TEMPLATE_ERROR_FILTER, "unpack" },
    { "{% for x in 5 %}{% endfor %}", NULL, CF_TEMPLATE_ERROR_FILTER, "not iterable" },
    { "{{ 9223372036854775807 + 1 }}", NULL, CF_TEMPLATE_ERROR_LIMIT, "overflow" },
    { "{{ range(0, 10, 0) }}", NULL, CF_TEMPLATE_ERROR_FILTER, NULL },
  };

  check_errors (cases, G_N_ELEMENTS (cases));
}

static void
test_syntax_errors (void)
{
  static const ErrorCase cases[] = {
    { "{{ x", NULL, CF_TEMPLATE_ERROR_SYNTAX, "line 1:" },
    { "ok\n{% if x %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "endif" },
    { "{% for x in y %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "endfor" },
    { "a\nb\n{% endfor %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "line 3: unexpected 'endfor'" },
    { "{% else %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{% if x %}{% endfor %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{% macro m() %}{% endmacro %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "macro" },
    { "{% include 'x' %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{% %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ (1 + 2 }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ 1 + 2) }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ [1, 2 }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ 'unterminated }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "string" },
    { "{# never closed", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{% raw %}never closed", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ a $ b }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "'$'" },
    { "{{ 1 < 2 < 3 }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "chained" },
    { "{{ x() }}", NULL, CF_TEMPLATE_ERROR_FILTER, "no function named" },
    { "{{ (x)() }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{% set x %}block{% endset %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{% for x in y if x %}{% endfor %}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "{{ 99999999999999999999 }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "too large" },
    { "{{ '\\x00' }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, NULL },
    { "ok\n\xff\xfe", NULL, CF_TEMPLATE_ERROR_SYNTAX, "line 2: the template is not valid UTF-8" },
    { "{{ x | nope }}", NULL, CF_TEMPLATE_ERROR_FILTER, "nope" },
    { "{{ x is nope }}", NULL, CF_TEMPLATE_ERROR_FILTER, "nope" },
    { "{{ x.nope() }}", NULL, CF_TEMPLATE_ERROR_FILTER, "nope" },
    { "{{ x | replace('a') }}", NULL, CF_TEMPLATE_ERROR_FILTER, "new" },
    { "{{ x | upper(1) }}", NULL, CF_TEMPLATE_ERROR_FILTER, NULL },
    { "{{ x | truncate(bogus=1) }}", NULL, CF_TEMPLATE_ERROR_FILTER, "bogus" },
  };

  check_errors (cases, G_N_ELEMENTS (cases));
}

/* Returns @before, then @piece @times times, then @after. */
static char *
repeat (const char *before,
        const char *piece,
        guint       times,
        const char *after)
{
  GString *out = g_string_new (before);

  for (guint i = 0; i < times; i++)
    g_string_append (out, piece);
  g_string_append (out, after);
  return g_string_free (out, FALSE);
}

static void
check_limit (const char *source,
             const char *arguments)
{
  ErrorCase limit = { source, arguments, CF_TEMPLATE_ERROR_LIMIT, NULL };

  check_errors (&limit, 1);
}

static void
test_limits_output (void)
{
  g_autofree char *big = g_strnfill (600 * 1024, 'x');
  g_autofree char *arguments = g_strdup_printf ("{\"s\": \"%s\"}", big);
  g_autofree char *doubling = repeat ("{% set a = 'xxxxxxxxxxxxxxxx' %}", "{% set a = a ~ a %}", 30,
                                      "{{ a | length }}");

  check_limit ("{{ 'x' * 2000000 }}", NULL);
  check_limit ("{% for i in range(2) %}{{ s }}{% endfor %}", arguments);
  check_limit ("{{ s | replace('x', 'yy') }}", arguments);
  check_limit ("{{ s ~ s }}", arguments);
  check_limit (doubling, NULL);
}

static void
test_limits_loops (void)
{
  g_autofree char *doubling = repeat ("{% set a = [1] %}", "{% set a = a + a %}", 30,
                                      "{{ a | length }}");

  check_limit ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
               NULL);
  check_limit ("{{ range(200000) | length }}", NULL);
  check_limit (doubling, NULL);

  check_render ("{% for i in range(100000) %}{% endfor %}done", NULL, "done");
}

static void
test_limits_nesting (void)
{
  g_autofree char *parens = repeat ("{{ ", "(", 10000, "1 }}");
  g_autofree char *negations = repeat ("{{ ", "-", 10000, "1 }}");
  g_autofree char *nots = repeat ("{{ ", "not ", 10000, "1 }}");
  g_autofree char *lists = repeat ("{{ ", "[", 10000, " }}");
  g_autofree char *sum = repeat ("{{ ", "1 + ", 5000, "1 }}");
  g_autofree char *filters = repeat ("{{ 'x'", " | upper", 1000, " }}");
  g_autofree char *ifs = repeat ("", "{% if true %}", 10000, "");
  g_autofree char *fors = repeat ("", "{% for x in y %}", 65, "");
  g_autofree char *fine_open = repeat ("{{ ", "(", 60, "1");
  g_autofree char *fine = repeat (fine_open, ")", 60, " }}");
  g_autofree char *fine_ifs_open = repeat ("", "{% if true %}", 64, "x");
  g_autofree char *fine_ifs = repeat (fine_ifs_open, "{% endif %}", 64, "");
  const char *deep[] = { parens, negations, nots, lists, sum, filters, ifs, fors };

  for (guint i = 0; i < G_N_ELEMENTS (deep); i++)
    check_limit (deep[i], NULL);

  /* Just inside the limits still renders. */
  check_render (fine, NULL, "1");
  check_render (fine_ifs, NULL, "x");
}

static void
test_limits_work (void)
{
  g_autofree char *big = g_strnfill (600 * 1024, 'x');
  g_autofree char *arguments = g_strdup_printf ("{\"s\": \"%s\"}", big);
  ErrorCase cases[] = {
    { "{% for i in range(100000) %}{% if 'y' in s %}{% endif %}{% endfor %}", arguments,
      CF_TEMPLATE_ERROR_LIMIT, "work" },
    { "{% for i in range(100000) %}{% set n = s | length %}{% endfor %}", arguments,
      CF_TEMPLATE_ERROR_LIMIT, "work" },
  };

  check_errors (cases, G_N_ELEMENTS (cases));
}

/* Whatever the input, compiling and rendering end in a result or an
 * error: never a crash, a hang or a leak. */
static void
check_survives (const char *source)
{
  g_autoptr(CfPromptTemplate) template = NULL;
  g_autoptr(JsonNode) arguments = json_from_string ("{\"x\": [1, {\"a\": \"b\"}], \"y\": \"s\"}",
                                                    NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_auto(GStrv) variables = NULL;

  template = cf_prompt_template_new (source, &error);
  if (template == NULL)
    {
      g_assert_nonnull (error);
      return;
    }

  variables = cf_prompt_template_get_variables (template);
  g_assert_nonnull (variables);
  output = cf_prompt_template_render (template, json_node_get_object (arguments), &error);
  g_assert_true ((output == NULL) != (error == NULL));
  if (output != NULL)
    g_assert_true (g_utf8_validate (output, -1, NULL));
}

static void
test_garbage (void)
{
  static const char * const samples[] = {
    "{{", "{%", "{#", "}}", "%}", "{{ x", "{% if", "{% if x", "{% if x %}", "{% for %}",
    "{% for x %}", "{% for x in %}", "{% endfor %}", "{% endif %}", "{% elif %}", "{% bogus %}",
    "{{ ( }}", "{{ ) }}", "{{ ((x) }}", "{{ [ }}", "{{ x[ }}", "{{ x. }}", "{{ x | }}",
    "{{ x is }}", "{{ x is not }}", "{{ 'a }}", "{{ \"a }}", "{{ '\\", "{{ 1e }}", "{{ 1. }}",
    "{{ x if }}", "{{ x if y else }}", "{% set %}", "{% set x %}", "{% set x = %}",
    "{{- -}}", "{%- -%}", "{#- -#}", "{% raw %}", "{% endraw %}", "{{ --- }}", "{{ ~ }}",
    "\xe2\x82", "{{ '\\u12' }}", "{{ '\\udc00' }}",
  };
  static const char * const pieces[] = {
    "{{", "}}", "{%", "%}", "{#", "#}", "-", "(", ")", "[", "]", "'", "\"", "if ", "for ",
    "endif", "endfor", "else", "elif ", " in ", "x", "y", "1", "2.5", "|", "upper", "default",
    "length", ".", ",", " ", "\n", "set ", "=", "==", "~", "+", "*", "/", "%", " is ", "not ",
    "defined", "raw", "endraw", "loop", "items()", "\\", "\xc3\xa9", ":", "a", "and ", "or ",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (6570);

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    check_survives (samples[i]);

  for (guint i = 0; i < 3000; i++)
    {
      g_autoptr(GString) source = g_string_new (NULL);
      guint length = g_rand_int_range (rand, 1, 40);

      for (guint j = 0; j < length; j++)
        g_string_append (source, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
      check_survives (source->str);
    }
}

static void
test_truncated (void)
{
  static const char source[] =
    "Dear {{ user.name | default('friend') | title }},\n"
    "{%- if x is defined and x | length > 0 %}\n"
    "{% for item in x -%}\n"
    "  {{ loop.index }}. {{ item['a'] | d(item) ~ '!' }}{% if not loop.last %},{% endif %}\n"
    "{%- else %}none{% endfor %}\n"
    "{% elif y %}{# note #}{{ y[1:] }}{% else %}{% raw %}{{ raw }}{% endraw %}{% endif %}\n"
    "{% set total = (1 + 2) * 3 %}{{ total }} \"caf\xc3\xa9\"";

  for (gsize length = 0; length <= strlen (source); length++)
    {
      g_autofree char *prefix = g_strndup (source, length);

      check_survives (prefix);
    }
}

static void
test_utf8 (void)
{
  ErrorCase cases[] = {
    { "valid\n{{ '\xc3\x28' }}", NULL, CF_TEMPLATE_ERROR_SYNTAX, "line 2" },
    { "\xed\xa0\x80", NULL, CF_TEMPLATE_ERROR_SYNTAX, "UTF-8" },
  };

  check_errors (cases, G_N_ELEMENTS (cases));
  check_render ("{{ s | upper }} {{ s | length }} {{ s | reverse }}", "{\"s\": \"\\u00e9t\\u00e9\"}",
                "\xc3\x89T\xc3\x89 3 \xc3\xa9t\xc3\xa9");
}

static void
check_variables (const char        *source,
                 const char * const *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfPromptTemplate) template = cf_prompt_template_new (source, &error);
  g_auto(GStrv) variables = NULL;

  g_assert_no_error (error);
  variables = cf_prompt_template_get_variables (template);
  g_assert_cmpstrv (variables, expected);
}

static void
test_variables (void)
{
  static const char * const none[] = { NULL };
  static const char * const simple[] = { "arg1", "arg2", NULL };
  static const char * const scoped[] = { "a", "b", "c", "d", "e", "items", "n", NULL };
  static const char * const before_set[] = { "x", NULL };

  check_variables ("plain text", none);
  check_variables ("{{ arg2 }} {{ arg1 }} {{ arg2 | upper }}", simple);
  check_variables ("{{ b }}{{ a.x }}{% for i in items %}{{ i }}{{ loop.index }}{{ c }}"
                   "{% set inner = 1 %}{{ inner }}{% endfor %}{% set s = 1 %}{{ s }}"
                   "{{ a | default(d) }}{% if e is defined %}{% endif %}{{ range(n) }}{{ loop }}",
                   scoped);
  check_variables ("{{ x }}{% set x = 1 %}{{ x }}", before_set);
}

static void
test_refcount (void)
{
  g_autoptr(GError) error = NULL;
  CfPromptTemplate *template = cf_prompt_template_new ("{{ a }}", &error);
  CfPromptTemplate *other;
  g_autoptr(JsonNode) arguments = json_from_string ("{\"a\": 1}", NULL);

  g_assert_no_error (error);
  other = cf_prompt_template_ref (template);
  g_assert_true (other == template);
  cf_prompt_template_unref (template);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *output = cf_prompt_template_render (other, json_node_get_object (arguments),
                                                           &error);

      g_assert_no_error (error);
      g_assert_cmpstr (output, ==, "1");
    }
  cf_prompt_template_unref (other);

  {
    g_autoptr(CfPromptTemplate) empty = cf_prompt_template_new ("{{ a | default(2) }}", &error);
    g_autofree char *output = cf_prompt_template_render (empty, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (output, ==, "2");
  }
}

typedef struct {
  CfPromptTemplate *template;
  JsonObject       *arguments;
} ThreadData;

static gpointer
render_in_thread (gpointer user_data)
{
  ThreadData *data = user_data;

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *output = cf_prompt_template_render (data->template, data->arguments,
                                                           &error);

      g_assert_no_error (error);
      g_assert_cmpstr (output, ==, "a,b,c|3");
    }
  return NULL;
}

/* The catalog shares compiled templates between request threads. */
static void
test_threads (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfPromptTemplate) template =
    cf_prompt_template_new ("{% for x in items %}{{ x }}{% if not loop.last %},{% endif %}"
                            "{% endfor %}|{{ items | length }}", &error);
  g_autoptr(JsonNode) arguments = json_from_string ("{\"items\": [\"a\", \"b\", \"c\"]}", NULL);
  ThreadData data = { template, json_node_get_object (arguments) };
  GThread *threads[4];

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("render", render_in_thread, &data);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

/* The prompts of the MCP conformance fixture, as ContextForge stores them. */
static void
test_conformance_prompts (void)
{
  check_render ("Prompt with arguments: arg1='{{ arg1 }}', arg2='{{ arg2 }}'",
                "{\"arg1\": \"testValue1\", \"arg2\": \"testValue2\"}",
                "Prompt with arguments: arg1='testValue1', arg2='testValue2'");
  check_render ("This is a simple prompt for testing.", NULL,
                "This is a simple prompt for testing.");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/prompt-template/text", test_text);
  g_test_add_func ("/prompt-template/whitespace-control", test_whitespace_control);
  g_test_add_func ("/prompt-template/expressions", test_expressions);
  g_test_add_func ("/prompt-template/values", test_values);
  g_test_add_func ("/prompt-template/truthiness", test_truthiness);
  g_test_add_func ("/prompt-template/filters", test_filters);
  g_test_add_func ("/prompt-template/filters/sort-by-attribute", test_sort_by_attribute);
  g_test_add_func ("/prompt-template/statements/if", test_if);
  g_test_add_func ("/prompt-template/statements/for", test_for);
  g_test_add_func ("/prompt-template/statements/set", test_set);
  g_test_add_func ("/prompt-template/errors/undefined", test_undefined);
  g_test_add_func ("/prompt-template/errors/render", test_render_errors);
  g_test_add_func ("/prompt-template/errors/syntax", test_syntax_errors);
  g_test_add_func ("/prompt-template/errors/utf8", test_utf8);
  g_test_add_func ("/prompt-template/limits/output", test_limits_output);
  g_test_add_func ("/prompt-template/limits/loops", test_limits_loops);
  g_test_add_func ("/prompt-template/limits/nesting", test_limits_nesting);
  g_test_add_func ("/prompt-template/limits/work", test_limits_work);
  g_test_add_func ("/prompt-template/hostile/garbage", test_garbage);
  g_test_add_func ("/prompt-template/hostile/truncated", test_truncated);
  g_test_add_func ("/prompt-template/variables", test_variables);
  g_test_add_func ("/prompt-template/refcount", test_refcount);
  g_test_add_func ("/prompt-template/threads", test_threads);
  g_test_add_func ("/prompt-template/conformance-prompts", test_conformance_prompts);

  return g_test_run ();
}
