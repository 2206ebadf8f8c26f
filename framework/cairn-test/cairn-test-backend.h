/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

#include "cairn-test-snapshot.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_TEST_BACKEND (cairn_test_backend_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (CairnTestBackend, cairn_test_backend, CAIRN, TEST_BACKEND, GObject)

/**
 * CairnTestBackendInterface:
 * @g_iface: the parent interface
 * @read: reads the whole backend into a new #CairnTestSnapshot: folders by
 *   path (`A/B`, with the names the store shows), items with their name
 *   (the remote id the resource gives them), content and, if the backend
 *   keeps them, flags
 * @add_item: adds an item to @folder as another program would, with
 *   @flags if the backend keeps flags; returns its name
 * @edit_item: (nullable): replaces the content of item @name in @folder as
 *   another program would, keeping its flags; %NULL for a backend whose
 *   items never change in place (maildir)
 * @remove_item: removes item @name from @folder as another program would
 * @move_item: (nullable): moves item @name from @folder to folder @to as
 *   another program would, keeping its content and flags; returns its name
 *   there. %NULL for a backend where other programs do not move items
 * @set_flags: (nullable): replaces the flags of item @name in @folder as
 *   another program would (a mail client marking it read); %NULL for a
 *   backend that keeps no flags
 * @add_folder: (nullable): creates the top-level folder @folder as
 *   another program would; %NULL (with @rename_folder and
 *   @remove_folder) for a backend where other programs make no folders
 * @rename_folder: (nullable): renames the top-level folder @folder to
 *   @name, with what it holds
 * @remove_folder: (nullable): removes the top-level folder @folder with
 *   what it holds
 *
 * The view a #CairnTestReplay has of a resource's backend: what it holds,
 * and the changes another program makes to it.
 *
 * Since: 0.1
 */
struct _CairnTestBackendInterface
{
  GTypeInterface g_iface;

  CairnTestSnapshot *(*read)        (CairnTestBackend  *self,
                                     GError           **error);
  char              *(*add_item)    (CairnTestBackend  *self,
                                     const char        *folder,
                                     GBytes            *content,
                                     const CairnFlags  *flags,
                                     GError           **error);
  gboolean           (*edit_item)   (CairnTestBackend  *self,
                                     const char        *folder,
                                     const char        *name,
                                     GBytes            *content,
                                     GError           **error);
  gboolean           (*remove_item) (CairnTestBackend  *self,
                                     const char        *folder,
                                     const char        *name,
                                     GError           **error);
  char              *(*move_item)   (CairnTestBackend  *self,
                                     const char        *folder,
                                     const char        *name,
                                     const char        *to,
                                     GError           **error);
  gboolean           (*set_flags)   (CairnTestBackend  *self,
                                     const char        *folder,
                                     const char        *name,
                                     const CairnFlags  *flags,
                                     GError           **error);
  gboolean           (*add_folder)    (CairnTestBackend  *self,
                                       const char        *folder,
                                       GError           **error);
  gboolean           (*rename_folder) (CairnTestBackend  *self,
                                       const char        *folder,
                                       const char        *name,
                                       GError           **error);
  gboolean           (*remove_folder) (CairnTestBackend  *self,
                                       const char        *folder,
                                       GError           **error);

  /*< private >*/
  gpointer padding[3];
};

CAIRN_AVAILABLE_IN_ALL
CairnTestSnapshot *cairn_test_backend_read        (CairnTestBackend  *self,
                                                   GError           **error);
CAIRN_AVAILABLE_IN_ALL
char              *cairn_test_backend_add_item    (CairnTestBackend  *self,
                                                   const char        *folder,
                                                   GBytes            *content,
                                                   const CairnFlags  *flags,
                                                   GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_can_edit    (CairnTestBackend  *self);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_edit_item   (CairnTestBackend  *self,
                                                   const char        *folder,
                                                   const char        *name,
                                                   GBytes            *content,
                                                   GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_remove_item (CairnTestBackend  *self,
                                                   const char        *folder,
                                                   const char        *name,
                                                   GError           **error);

CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_can_move    (CairnTestBackend  *self);
CAIRN_AVAILABLE_IN_ALL
char              *cairn_test_backend_move_item   (CairnTestBackend  *self,
                                                   const char        *folder,
                                                   const char        *name,
                                                   const char        *to,
                                                   GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_can_set_flags (CairnTestBackend  *self);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_set_flags   (CairnTestBackend  *self,
                                                   const char        *folder,
                                                   const char        *name,
                                                   const CairnFlags  *flags,
                                                   GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_can_change_folders (CairnTestBackend *self);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_add_folder    (CairnTestBackend  *self,
                                                     const char        *folder,
                                                     GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_rename_folder (CairnTestBackend  *self,
                                                     const char        *folder,
                                                     const char        *name,
                                                     GError           **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_backend_remove_folder (CairnTestBackend  *self,
                                                     const char        *folder,
                                                     GError           **error);

#define CAIRN_TYPE_TEST_DIRECTORY_BACKEND (cairn_test_directory_backend_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestDirectoryBackend, cairn_test_directory_backend, CAIRN,
                      TEST_DIRECTORY_BACKEND, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestDirectoryBackend *cairn_test_directory_backend_new (const char *root,
                                                             gboolean    flags_header);

G_END_DECLS
