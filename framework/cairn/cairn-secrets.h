/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <gio/gio.h>

#include "cairn-version-macros.h"

G_BEGIN_DECLS

/**
 * CAIRN_SECRETS_ERROR:
 *
 * The error domain of #CairnSecrets; its codes are #CairnSecretsError.
 * Every failure of the Secret Service, of libsecret or of the bus is
 * reported in this domain, except cancellation, which is
 * %G_IO_ERROR_CANCELLED.
 *
 * Since: 0.1
 */
#define CAIRN_SECRETS_ERROR (cairn_secrets_error_quark ())

/**
 * CairnSecretsError:
 * @CAIRN_SECRETS_ERROR_NOT_FOUND: no secret of that name is stored for
 *   the instance
 * @CAIRN_SECRETS_ERROR_UNAVAILABLE: no Secret Service answers, it has no
 *   default collection, or the keyring is locked (#CairnSecrets never shows
 *   a prompt to unlock it)
 * @CAIRN_SECRETS_ERROR_INVALID: a name or secret is not valid (empty or
 *   not UTF-8)
 * @CAIRN_SECRETS_ERROR_FAILED: the Secret Service failed otherwise
 *
 * Errors of #CairnSecrets.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_SECRETS_ERROR_NOT_FOUND,
  CAIRN_SECRETS_ERROR_UNAVAILABLE,
  CAIRN_SECRETS_ERROR_INVALID,
  CAIRN_SECRETS_ERROR_FAILED,
} CairnSecretsError;

#define CAIRN_TYPE_SECRETS (cairn_secrets_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnSecrets, cairn_secrets, CAIRN, SECRETS, GObject)

CAIRN_AVAILABLE_IN_ALL
GQuark        cairn_secrets_error_quark   (void);

CAIRN_AVAILABLE_IN_ALL
CairnSecrets *cairn_secrets_new           (const char           *instance);

CAIRN_AVAILABLE_IN_ALL
const char   *cairn_secrets_get_instance  (CairnSecrets         *self);

CAIRN_AVAILABLE_IN_ALL
void          cairn_secrets_store_async   (CairnSecrets         *self,
                                           const char           *name,
                                           const char           *secret,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
gboolean      cairn_secrets_store_finish  (CairnSecrets         *self,
                                           GAsyncResult         *result,
                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean      cairn_secrets_store_sync    (CairnSecrets         *self,
                                           const char           *name,
                                           const char           *secret,
                                           GCancellable         *cancellable,
                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
void          cairn_secrets_lookup_async  (CairnSecrets         *self,
                                           const char           *name,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
char         *cairn_secrets_lookup_finish (CairnSecrets         *self,
                                           GAsyncResult         *result,
                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
char         *cairn_secrets_lookup_sync   (CairnSecrets         *self,
                                           const char           *name,
                                           GCancellable         *cancellable,
                                           GError              **error);

CAIRN_AVAILABLE_IN_ALL
void          cairn_secrets_clear_async   (CairnSecrets         *self,
                                           const char           *name,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
CAIRN_AVAILABLE_IN_ALL
gboolean      cairn_secrets_clear_finish  (CairnSecrets         *self,
                                           GAsyncResult         *result,
                                           GError              **error);
CAIRN_AVAILABLE_IN_ALL
gboolean      cairn_secrets_clear_sync    (CairnSecrets         *self,
                                           const char           *name,
                                           GCancellable         *cancellable,
                                           GError              **error);

G_END_DECLS
