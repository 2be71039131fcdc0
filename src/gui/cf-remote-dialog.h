/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CF_TYPE_REMOTE_DIALOG (cf_remote_dialog_get_type ())
G_DECLARE_FINAL_TYPE (CfRemoteDialog, cf_remote_dialog, CF, REMOTE_DIALOG, AdwMessageDialog)

CfRemoteDialog *cf_remote_dialog_new       (GtkWindow      *parent);
const char     *cf_remote_dialog_get_url   (CfRemoteDialog *self);
const char     *cf_remote_dialog_get_token (CfRemoteDialog *self);

G_END_DECLS
