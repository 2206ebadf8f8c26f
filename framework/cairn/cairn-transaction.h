/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-collection.h"
#include "cairn-flags-delta.h"
#include "cairn-item.h"
#include "cairn-relation.h"
#include "cairn-tag.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_TRANSACTION (cairn_transaction_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTransaction, cairn_transaction, CAIRN, TRANSACTION, GObject)

/**
 * CairnTransactionFunc:
 * @transaction: the open write transaction
 * @user_data: the data passed with the function
 * @error: return location for an error
 *
 * Does the writes of one transaction. Every write is applied at once and
 * made durable together with the others when the function returns %TRUE;
 * if it returns %FALSE, none of them is.
 *
 * Returns: %TRUE to commit, %FALSE with @error set to roll back
 *
 * Since: 0.1
 */
typedef gboolean (*CairnTransactionFunc) (CairnTransaction  *transaction,
                                          gpointer           user_data,
                                          GError           **error);

CAIRN_AVAILABLE_IN_ALL
guint64     cairn_transaction_get_revision      (CairnTransaction *self);
CAIRN_AVAILABLE_IN_ALL
const char *cairn_transaction_get_origin        (CairnTransaction *self);
CAIRN_AVAILABLE_IN_ALL
void        cairn_transaction_set_origin        (CairnTransaction *self,
                                                 const char       *origin);

CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_create_collection (CairnTransaction  *self,
                                                 CairnCollection   *collection,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_modify_collection (CairnTransaction  *self,
                                                 CairnCollection   *collection,
                                                 guint64            unchanged_since,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_move_collection   (CairnTransaction  *self,
                                                 guint64            id,
                                                 guint64            parent_id,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_delete_collection (CairnTransaction  *self,
                                                 guint64            id,
                                                 GError           **error);

CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_create_item       (CairnTransaction  *self,
                                                 CairnItem         *item,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_store_part        (CairnTransaction  *self,
                                                 guint64            item_id,
                                                 CairnPart         *part,
                                                 guint64            unchanged_since,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_modify_item       (CairnTransaction  *self,
                                                 CairnItem         *item,
                                                 guint64            unchanged_since,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_change_flags      (CairnTransaction  *self,
                                                 guint64            item_id,
                                                 const CairnFlagsDelta *delta,
                                                 guint64            unchanged_since,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_move_item         (CairnTransaction  *self,
                                                 guint64            item_id,
                                                 guint64            collection_id,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_delete_item       (CairnTransaction  *self,
                                                 guint64            item_id,
                                                 GError           **error);

CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_create_tag        (CairnTransaction  *self,
                                                 CairnTag          *tag,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_modify_tag        (CairnTransaction  *self,
                                                 CairnTag          *tag,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_delete_tag        (CairnTransaction  *self,
                                                 guint64            tag_id,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_set_tag_remote_id (CairnTransaction  *self,
                                                 guint64            tag_id,
                                                 const char        *resource,
                                                 const char        *remote_id,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_tag_item          (CairnTransaction  *self,
                                                 guint64            item_id,
                                                 guint64            tag_id,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_untag_item        (CairnTransaction  *self,
                                                 guint64            item_id,
                                                 guint64            tag_id,
                                                 GError           **error);

CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_add_relation      (CairnTransaction  *self,
                                                 CairnRelation     *relation,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_remove_relation   (CairnTransaction  *self,
                                                 CairnRelation     *relation,
                                                 GError           **error);

CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_link_item         (CairnTransaction  *self,
                                                 guint64            collection_id,
                                                 guint64            item_id,
                                                 GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean    cairn_transaction_unlink_item       (CairnTransaction  *self,
                                                 guint64            collection_id,
                                                 guint64            item_id,
                                                 GError           **error);

G_END_DECLS
