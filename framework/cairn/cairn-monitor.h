/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include <glib-object.h>

#include "cairn-change.h"
#include "cairn-fetch-scope.h"
#include "cairn-observer.h"
#include "cairn-store.h"
#include "cairn-version-macros.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_MONITOR (cairn_monitor_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (CairnMonitor, cairn_monitor, CAIRN, MONITOR, GObject)

/**
 * CairnMonitorClass:
 * @parent_class: the parent class
 *
 * The class of monitors. #CairnChangeRecorder derives from it.
 *
 * Since: 0.1
 */
struct _CairnMonitorClass
{
  GObjectClass parent_class;

  /*< private >*/
  gpointer padding[8];
};

CAIRN_AVAILABLE_IN_ALL
CairnMonitor    *cairn_monitor_new                  (CairnStore       *store,
                                                     GError          **error);
CAIRN_AVAILABLE_IN_ALL
CairnStore      *cairn_monitor_get_store            (CairnMonitor     *self);
CAIRN_AVAILABLE_IN_ALL
guint64          cairn_monitor_get_revision         (CairnMonitor     *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_add_collection       (CairnMonitor     *self,
                                                     guint64           collection_id);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_add_item             (CairnMonitor     *self,
                                                     guint64           item_id);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_add_resource         (CairnMonitor     *self,
                                                     const char       *resource);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_add_mime_type        (CairnMonitor     *self,
                                                     const char       *mime_type);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_add_entity_kind      (CairnMonitor     *self,
                                                     CairnEntityKind   kind);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_set_ignore_own_origin (CairnMonitor    *self,
                                                     gboolean          ignore);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_monitor_get_ignore_own_origin (CairnMonitor    *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_set_fetch_scope      (CairnMonitor     *self,
                                                     CairnFetchScope  *scope);
CAIRN_AVAILABLE_IN_ALL
CairnFetchScope *cairn_monitor_get_fetch_scope      (CairnMonitor     *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_set_batch            (CairnMonitor     *self,
                                                     gboolean          batch);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_monitor_get_batch            (CairnMonitor     *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_set_batch_flags      (CairnMonitor     *self,
                                                     gboolean          batch_flags);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_monitor_get_batch_flags      (CairnMonitor     *self);
CAIRN_AVAILABLE_IN_ALL
void             cairn_monitor_set_observer         (CairnMonitor     *self,
                                                     CairnObserver    *observer);
CAIRN_AVAILABLE_IN_ALL
CairnObserver   *cairn_monitor_get_observer         (CairnMonitor     *self);

CAIRN_AVAILABLE_IN_ALL
const GError    *cairn_monitor_get_read_error    (CairnMonitor     *self);

G_END_DECLS
