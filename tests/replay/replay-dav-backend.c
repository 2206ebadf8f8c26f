/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DAV resource's backend as CairnTestReplay sees it: the calendars
 * of one Radicale account, read and written over plain HTTP as another
 * client would. Folders are the calendars' display names (the names the
 * store shows), items their objects, named by path (the remote ids the
 * resource gives them), with the server's bytes as content. */
#include <string.h>

#include "cairn-dav-multistatus-private.h"
#include "replay-dav-backend.h"

struct _ReplayDavBackend
{
  GObject parent_instance;

  RadicaleFixture *radicale;   /* not owned: the test stops it */
  char *home;
  guint next_name;
};

static void replay_dav_backend_iface_init (CairnTestBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReplayDavBackend, replay_dav_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_TEST_BACKEND,
                                                      replay_dav_backend_iface_init))

static void
replay_dav_backend_finalize (GObject *object)
{
  g_free (REPLAY_DAV_BACKEND (object)->home);
  G_OBJECT_CLASS (replay_dav_backend_parent_class)->finalize (object);
}

static void
replay_dav_backend_class_init (ReplayDavBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = replay_dav_backend_finalize;
}

static void
replay_dav_backend_init (ReplayDavBackend *self)
{
}

static GPtrArray *
propfind (ReplayDavBackend  *self,
          const char        *path,
          GError           **error)
{
  guint status = 0;
  g_autoptr(GBytes) body = radicale_fixture_http (self->radicale, "PROPFIND", path,
                                                  "<?xml version=\"1.0\"?><D:propfind "
                                                  "xmlns:D=\"DAV:\"><D:prop><D:resourcetype/>"
                                                  "<D:displayname/><D:getetag/></D:prop>"
                                                  "</D:propfind>", "Depth", "1", &status, NULL);

  if (status != 207)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "PROPFIND %s: %u", path, status),
           NULL;
  return cairn_dav_multistatus_parse (body, NULL, error);
}

/* The calendars: display name → path. */
static GHashTable *
list_calendars (ReplayDavBackend  *self,
                GError           **error)
{
  g_autoptr(GPtrArray) entries = propfind (self, self->home, error);
  g_autoptr(GHashTable) calendars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           g_free);

  if (entries == NULL)
    return NULL;
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);

      if (entry->calendar && entry->displayname != NULL)
        g_hash_table_insert (calendars, g_strdup (entry->displayname), g_strdup (entry->href));
    }
  return g_steal_pointer (&calendars);
}

static CairnTestSnapshot *
dav_read (CairnTestBackend  *backend,
          GError           **error)
{
  ReplayDavBackend *self = REPLAY_DAV_BACKEND (backend);
  g_autoptr(CairnTestSnapshot) snapshot = cairn_test_snapshot_new ();
  g_autoptr(GHashTable) calendars = list_calendars (self, error);
  GHashTableIter iter;
  gpointer name, path;

  if (calendars == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, calendars);
  while (g_hash_table_iter_next (&iter, &name, &path))
    {
      g_autoptr(GPtrArray) entries = propfind (self, path, error);

      if (entries == NULL)
        return NULL;
      cairn_test_snapshot_add_folder (snapshot, name);
      for (guint i = 0; i < entries->len; i++)
        {
          CairnDavEntry *entry = g_ptr_array_index (entries, i);
          guint status = 0;
          g_autoptr(GBytes) content = NULL;

          if (entry->collection)
            continue;
          content = radicale_fixture_http (self->radicale, "GET", entry->href, NULL, NULL, NULL,
                                           &status, NULL);
          if (status != 200)
            return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "GET %s: %u", entry->href,
                                status), NULL;
          cairn_test_snapshot_add_item (snapshot, name, entry->href, content, NULL);
        }
    }
  return g_steal_pointer (&snapshot);
}

static char *
calendar_path (ReplayDavBackend  *self,
               const char        *folder,
               GError           **error)
{
  g_autoptr(GHashTable) calendars = list_calendars (self, error);
  const char *path = calendars ? g_hash_table_lookup (calendars, folder) : NULL;

  if (calendars != NULL && path == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No calendar %s", folder);
  return g_strdup (path);
}

static gboolean
put (ReplayDavBackend  *self,
     const char        *path,
     GBytes            *content,
     GError           **error)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  guint status = 0;
  GBytes *answer = radicale_fixture_http (self->radicale, "PUT", path, text, NULL, NULL, &status,
                                          NULL);

  g_clear_pointer (&answer, g_bytes_unref);

  if (status != 201 && status != 204)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "PUT %s: %u", path, status), FALSE;
  return TRUE;
}

static char *
dav_add_item (CairnTestBackend  *backend,
              const char        *folder,
              GBytes            *content,
              const CairnFlags  *flags,
              GError           **error)
{
  ReplayDavBackend *self = REPLAY_DAV_BACKEND (backend);
  g_autofree char *calendar = calendar_path (self, folder, error);
  g_autofree char *path = NULL;

  if (calendar == NULL)
    return NULL;
  path = g_strdup_printf ("%sother-%u.ics", calendar, ++self->next_name);
  return put (self, path, content, error) ? g_steal_pointer (&path) : NULL;
}

static gboolean
dav_remove_item (CairnTestBackend  *backend,
                 const char        *folder,
                 const char        *name,
                 GError           **error)
{
  ReplayDavBackend *self = REPLAY_DAV_BACKEND (backend);
  guint status = 0;
  GBytes *answer = radicale_fixture_http (self->radicale, "DELETE", name, NULL, NULL, NULL,
                                          &status, NULL);

  g_clear_pointer (&answer, g_bytes_unref);

  if (status != 200 && status != 204)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "DELETE %s: %u", name, status),
           FALSE;
  return TRUE;
}

/* The test kit's new version may carry another UID, which Radicale
 * refuses over an object (409, no-uid-conflict): it replaces the object
 * under the same name instead, as a client re-creating it would. */
static gboolean
dav_edit_item (CairnTestBackend  *backend,
               const char        *folder,
               const char        *name,
               GBytes            *content,
               GError           **error)
{
  return dav_remove_item (backend, folder, name, error) &&
         put (REPLAY_DAV_BACKEND (backend), name, content, error);
}

/* As another client files an event in another calendar: MOVE under the
 * same file name. */
static char *
dav_move_item (CairnTestBackend  *backend,
               const char        *folder,
               const char        *name,
               const char        *to,
               GError           **error)
{
  ReplayDavBackend *self = REPLAY_DAV_BACKEND (backend);
  g_autofree char *calendar = calendar_path (self, to, error);
  g_autofree char *file = g_path_get_basename (name);
  g_autofree char *moved = NULL;
  g_autofree char *destination = NULL;
  g_autoptr(GBytes) answer = NULL;
  guint status = 0;

  if (calendar == NULL)
    return NULL;
  moved = g_strconcat (calendar, file, NULL);
  destination = radicale_fixture_url (self->radicale, moved);
  answer = radicale_fixture_http (self->radicale, "MOVE", name, NULL, "Destination", destination,
                                  &status, NULL);
  if (status != 201 && status != 204)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "MOVE %s to %s: %u", name, moved,
                        status), NULL;
  return g_steal_pointer (&moved);
}

static void
replay_dav_backend_iface_init (CairnTestBackendInterface *iface)
{
  iface->read = dav_read;
  iface->add_item = dav_add_item;
  iface->edit_item = dav_edit_item;
  iface->remove_item = dav_remove_item;
  iface->move_item = dav_move_item;
}

ReplayDavBackend *
replay_dav_backend_new (RadicaleFixture *radicale,
                        const char      *home)
{
  ReplayDavBackend *self = g_object_new (REPLAY_TYPE_DAV_BACKEND, NULL);

  self->radicale = radicale;
  self->home = g_strdup (home);
  return self;
}
