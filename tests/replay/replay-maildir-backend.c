/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The maildir resource's backend as CairnTestReplay sees it: a Maildir++
 * tree written by CairnTestMaildir. Folders are named as the store shows
 * them (`INBOX`, `.A.B` is `A/B`), items by the unique part of their file
 * name, with the flags of their info letters. */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "replay-maildir-backend.h"

struct _ReplayMaildirBackend
{
  GObject parent_instance;

  CairnTestMaildir *maildir;
};

static void replay_maildir_backend_iface_init (CairnTestBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReplayMaildirBackend, replay_maildir_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_TEST_BACKEND,
                                                      replay_maildir_backend_iface_init))

static const struct
{
  char letter;
  const char *flag;
} letters[] = {
  { 'D', CAIRN_FLAG_DRAFT },
  { 'F', CAIRN_FLAG_FLAGGED },
  { 'R', CAIRN_FLAG_ANSWERED },
  { 'S', CAIRN_FLAG_SEEN },
  { 'T', CAIRN_FLAG_DELETED },
};

static void
replay_maildir_backend_dispose (GObject *object)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (object);

  g_clear_object (&self->maildir);

  G_OBJECT_CLASS (replay_maildir_backend_parent_class)->dispose (object);
}

static void
replay_maildir_backend_class_init (ReplayMaildirBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = replay_maildir_backend_dispose;
}

static void
replay_maildir_backend_init (ReplayMaildirBackend *self)
{
}

static gboolean
read_messages (const char         *maildir,
               const char         *folder,
               CairnTestSnapshot  *snapshot,
               GError            **error)
{
  const char *subdirectories[] = { "new", "cur" };

  cairn_test_snapshot_add_folder (snapshot, folder);
  for (guint i = 0; i < G_N_ELEMENTS (subdirectories); i++)
    {
      g_autofree char *path = g_build_filename (maildir, subdirectories[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (path, 0, error);
      const char *name;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *file = g_build_filename (path, name, NULL);
          g_autofree char *data = NULL;
          g_autofree char *uid = NULL;
          g_autoptr(GBytes) content = NULL;
          g_autoptr(CairnFlags) flags = cairn_flags_new ();
          const char *info = strstr (name, ":2,");
          gsize length;

          if (name[0] == '.')
            continue;
          if (!g_file_get_contents (file, &data, &length, error))
            return FALSE;
          content = g_bytes_new_take (g_steal_pointer (&data), length);
          uid = info ? g_strndup (name, info - name) : g_strdup (name);
          for (guint l = 0; info != NULL && l < G_N_ELEMENTS (letters); l++)
            if (strchr (info + 3, letters[l].letter) != NULL)
              cairn_flags_add (flags, letters[l].flag);
          cairn_test_snapshot_add_item (snapshot, folder, uid, content, flags);
        }
    }
  return TRUE;
}

static CairnTestSnapshot *
maildir_read (CairnTestBackend  *backend,
              GError           **error)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (backend);
  const char *root = cairn_test_maildir_get_root (self->maildir);
  g_autoptr(CairnTestSnapshot) snapshot = cairn_test_snapshot_new ();
  g_autoptr(GDir) dir = g_dir_open (root, 0, error);
  const char *name;

  if (dir == NULL || !read_messages (root, "INBOX", snapshot, error))
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *maildir = g_build_filename (root, name, NULL);
      g_auto(GStrv) levels = NULL;
      g_autofree char *folder = NULL;

      if (name[0] != '.' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 ||
          !g_file_test (maildir, G_FILE_TEST_IS_DIR))
        continue;
      levels = g_strsplit (name + 1, ".", -1);
      folder = g_strjoinv ("/", levels);
      if (!read_messages (maildir, folder, snapshot, error))
        return NULL;
    }
  return g_steal_pointer (&snapshot);
}

/* The info letters of @flags, in ASCII order as the letters table is. */
static char *
info_of (const CairnFlags *flags)
{
  GString *info = g_string_new (NULL);

  for (guint l = 0; flags != NULL && l < G_N_ELEMENTS (letters); l++)
    if (cairn_flags_contains (flags, letters[l].flag))
      g_string_append_c (info, letters[l].letter);
  return g_string_free (info, FALSE);
}

static char *
maildir_add_item (CairnTestBackend  *backend,
                  const char        *folder,
                  GBytes            *content,
                  const CairnFlags  *flags,
                  GError           **error)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (backend);
  g_autofree char *info = info_of (flags);

  return cairn_test_maildir_deliver (self->maildir, folder, content, *info ? info : NULL, error);
}

/* A rename, as other programs move a message or a folder. */
static gboolean
move_file (const char  *path,
           const char  *moved,
           GError     **error)
{
  g_autoptr(GFile) source = g_file_new_for_path (path);
  g_autoptr(GFile) target = g_file_new_for_path (moved);

  return g_file_move (source, target, G_FILE_COPY_NO_FALLBACK_FOR_MOVE, NULL, NULL, NULL, error);
}

/* Finds the file of message @name (its unique name, before any info) in
 * @folder: sets @subdirectory to "new" or "cur" and returns the file's
 * name, or %NULL with @error set. */
static char *
find_message (ReplayMaildirBackend  *self,
              const char            *folder,
              const char            *name,
              const char           **subdirectory,
              GError               **error)
{
  g_autofree char *maildir = cairn_test_maildir_get_folder_path (self->maildir, folder);
  const char *subdirectories[] = { "new", "cur" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirectories); i++)
    {
      g_autofree char *path = g_build_filename (maildir, subdirectories[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *file;

      while (dir != NULL && (file = g_dir_read_name (dir)) != NULL)
        if (g_str_has_prefix (file, name) && (file[strlen (name)] == '\0' ||
                                              file[strlen (name)] == ':'))
          {
            *subdirectory = subdirectories[i];
            return g_strdup (file);
          }
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No message %s in %s", name, maildir);
  return NULL;
}

static gboolean
maildir_remove_item (CairnTestBackend  *backend,
                     const char        *folder,
                     const char        *name,
                     GError           **error)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (backend);
  g_autofree char *maildir = cairn_test_maildir_get_folder_path (self->maildir, folder);
  const char *subdirectory;
  g_autofree char *file = find_message (self, folder, name, &subdirectory, error);
  g_autofree char *victim = NULL;

  if (file == NULL)
    return FALSE;
  victim = g_build_filename (maildir, subdirectory, file, NULL);
  if (g_unlink (victim) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot remove %s: %s",
                   victim, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* As a mail client files a message: a rename into the same
 * subdirectory of the other folder, under the same file name. */
static char *
maildir_move_item (CairnTestBackend  *backend,
                   const char        *folder,
                   const char        *name,
                   const char        *to,
                   GError           **error)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (backend);
  g_autofree char *maildir = cairn_test_maildir_get_folder_path (self->maildir, folder);
  g_autofree char *target = cairn_test_maildir_get_folder_path (self->maildir, to);
  const char *subdirectory;
  g_autofree char *file = find_message (self, folder, name, &subdirectory, error);
  g_autofree char *path = NULL;
  g_autofree char *moved = NULL;

  if (file == NULL)
    return NULL;
  path = g_build_filename (maildir, subdirectory, file, NULL);
  moved = g_build_filename (target, subdirectory, file, NULL);
  return move_file (path, moved, error) ? g_strdup (name) : NULL;
}

/* As a mail client marks a message: a rename into cur/ with the info of
 * the new flags. */
static gboolean
maildir_set_flags (CairnTestBackend  *backend,
                   const char        *folder,
                   const char        *name,
                   const CairnFlags  *flags,
                   GError           **error)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (backend);
  g_autofree char *maildir = cairn_test_maildir_get_folder_path (self->maildir, folder);
  g_autofree char *info = info_of (flags);
  const char *subdirectory;
  g_autofree char *file = find_message (self, folder, name, &subdirectory, error);
  g_autofree char *path = NULL;
  g_autofree char *renamed_file = NULL;
  g_autofree char *renamed = NULL;

  if (file == NULL)
    return FALSE;
  path = g_build_filename (maildir, subdirectory, file, NULL);
  renamed_file = g_strconcat (name, ":2,", info, NULL);
  renamed = g_build_filename (maildir, "cur", renamed_file, NULL);
  /* The same flags again: nothing to do, as rename() does nothing. */
  return g_str_equal (path, renamed) || move_file (path, renamed, error);
}

static gboolean
maildir_add_folder (CairnTestBackend  *backend,
                    const char        *folder,
                    GError           **error)
{
  return cairn_test_maildir_create_folder (REPLAY_MAILDIR_BACKEND (backend)->maildir, folder,
                                           error);
}

static gboolean
maildir_rename_folder (CairnTestBackend  *backend,
                       const char        *folder,
                       const char        *name,
                       GError           **error)
{
  ReplayMaildirBackend *self = REPLAY_MAILDIR_BACKEND (backend);
  g_autofree char *path = cairn_test_maildir_get_folder_path (self->maildir, folder);
  g_autofree char *renamed = cairn_test_maildir_get_folder_path (self->maildir, name);

  return move_file (path, renamed, error);
}

static gboolean
maildir_remove_folder (CairnTestBackend  *backend,
                       const char        *folder,
                       GError           **error)
{
  return cairn_test_maildir_remove_folder (REPLAY_MAILDIR_BACKEND (backend)->maildir, folder,
                                           error);
}

static void
replay_maildir_backend_iface_init (CairnTestBackendInterface *iface)
{
  iface->read = maildir_read;
  iface->add_item = maildir_add_item;
  iface->remove_item = maildir_remove_item;
  iface->move_item = maildir_move_item;
  iface->set_flags = maildir_set_flags;
  iface->add_folder = maildir_add_folder;
  iface->rename_folder = maildir_rename_folder;
  iface->remove_folder = maildir_remove_folder;
}

ReplayMaildirBackend *
replay_maildir_backend_new (CairnTestMaildir *maildir)
{
  ReplayMaildirBackend *self = g_object_new (REPLAY_TYPE_MAILDIR_BACKEND, NULL);

  self->maildir = g_object_ref (maildir);
  return self;
}
