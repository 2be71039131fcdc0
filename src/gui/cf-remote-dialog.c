/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-remote-dialog"

#include "config.h"

#include "cf-remote-dialog.h"

/**
 * CfRemoteDialog:
 *
 * Asks for a remote gateway's address and, unless the keyring has one
 * for it, an API token.
 */
struct _CfRemoteDialog
{
  AdwMessageDialog parent_instance;

  AdwEntryRow     *url_row;
  AdwEntryRow     *token_row;
};

G_DEFINE_FINAL_TYPE (CfRemoteDialog, cf_remote_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
cf_remote_dialog_class_init (CfRemoteDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-remote-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CfRemoteDialog, url_row);
  gtk_widget_class_bind_template_child (widget_class, CfRemoteDialog, token_row);
}

static void
cf_remote_dialog_init (CfRemoteDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cf_remote_dialog_new:
 * @parent: (nullable): the window it belongs to
 *
 * Returns: (transfer floating): a new dialog
 */
CfRemoteDialog *
cf_remote_dialog_new (GtkWindow *parent)
{
  return g_object_new (CF_TYPE_REMOTE_DIALOG, "transient-for", parent, "modal", TRUE, NULL);
}

const char *
cf_remote_dialog_get_url (CfRemoteDialog *self)
{
  g_return_val_if_fail (CF_IS_REMOTE_DIALOG (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->url_row));
}

const char *
cf_remote_dialog_get_token (CfRemoteDialog *self)
{
  g_return_val_if_fail (CF_IS_REMOTE_DIALOG (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->token_row));
}
