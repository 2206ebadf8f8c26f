/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memmem() */
#define _GNU_SOURCE

#include <check.h>
#include <string.h>
#include <libsecret/secret.h>

#include <cairn-test/cairn-test.h>

#include "cairn-test-suite.h"

/* A value that must never be found outside the keyring. */
#define CANARY "cairn-canary-5b1e9d7f-secret"

static CairnTestEnvironment *environment;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
}

static void
teardown (void)
{
  g_clear_object (&environment);
}

#define assert_error(error, quark, expected) \
  G_STMT_START { \
    ck_assert_msg ((error) != NULL, "expected error %d, got none", (int) (expected)); \
    ck_assert_msg (g_error_matches ((error), (quark), (expected)), \
                   "expected error %d, got %s %d: %s", (int) (expected), \
                   g_quark_to_string ((error)->domain), (error)->code, (error)->message); \
    ck_assert_str_ne ((error)->message, ""); \
    g_clear_error (&(error)); \
  } G_STMT_END

static void
store_ok (CairnSecrets *secrets,
          const char   *name,
          const char   *secret)
{
  GError *error = NULL;

  ck_assert_msg (cairn_secrets_store_sync (secrets, name, secret, NULL, &error),
                 "store %s: %s", name, error ? error->message : "");
}

static void
assert_secret (CairnSecrets *secrets,
               const char   *name,
               const char   *expected)
{
  GError *error = NULL;
  g_autofree char *secret = cairn_secrets_lookup_sync (secrets, name, NULL, &error);

  assert_no_error (error);
  ck_assert_str_eq (secret, expected);
}

static void
assert_not_found (CairnSecrets *secrets,
                  const char   *name)
{
  GError *error = NULL;
  g_autofree char *secret = cairn_secrets_lookup_sync (secrets, name, NULL, &error);

  ck_assert_ptr_null (secret);
  assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_NOT_FOUND);
}

static void
clear_ok (CairnSecrets *secrets,
          const char   *name)
{
  GError *error = NULL;

  ck_assert (cairn_secrets_clear_sync (secrets, name, NULL, &error));
  assert_no_error (error);
}

/* Async calls: each callback keeps its result and stops the loop. */

static void
keep_result (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static gboolean
store_async (CairnSecrets  *secrets,
             const char    *name,
             const char    *secret,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cairn_secrets_store_async (secrets, name, secret, cancellable, keep_result, &result);
  return cairn_secrets_store_finish (secrets, wait_for (&result), error);
}

static char *
lookup_async (CairnSecrets  *secrets,
              const char    *name,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cairn_secrets_lookup_async (secrets, name, cancellable, keep_result, &result);
  return cairn_secrets_lookup_finish (secrets, wait_for (&result), error);
}

static gboolean
clear_async (CairnSecrets  *secrets,
             const char    *name,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cairn_secrets_clear_async (secrets, name, cancellable, keep_result, &result);
  return cairn_secrets_clear_finish (secrets, wait_for (&result), error);
}

START_TEST (test_store_and_lookup)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attributes = NULL;
  g_autolist(SecretItem) items = NULL;
  g_autofree char *label = NULL;
  GError *error = NULL;

  ck_assert_str_eq (cairn_secrets_get_instance (secrets), "imap_0");
  store_ok (secrets, "password", "hunter2 ünïcode");
  assert_secret (secrets, "password", "hunter2 ünïcode");

  /* Storing again replaces the secret rather than adding a second one. */
  store_ok (secrets, "password", "correct horse");
  assert_secret (secrets, "password", "correct horse");

  /* One item, with Cairn's schema, attributes and label. */
  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  assert_no_error (error);
  attributes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (attributes, g_strdup ("xdg:schema"), g_strdup ("org.cairn.Secret"));
  items = secret_service_search_sync (service, NULL, attributes, SECRET_SEARCH_ALL, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (g_list_length (items), 1);
  label = secret_item_get_label (items->data);
  ck_assert_str_eq (label, "Cairn: imap_0 password");
}
END_TEST

START_TEST (test_lookup_missing)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");

  assert_not_found (secrets, "password");
  store_ok (secrets, "password", "secret");
  assert_not_found (secrets, "token");
}
END_TEST

START_TEST (test_instances_apart)
{
  g_autoptr(CairnSecrets) first = cairn_secrets_new ("imap_0");
  g_autoptr(CairnSecrets) second = cairn_secrets_new ("imap_1");

  store_ok (first, "password", "first secret");
  assert_not_found (second, "password");
  store_ok (second, "password", "second secret");
  assert_secret (first, "password", "first secret");
  assert_secret (second, "password", "second secret");

  clear_ok (first, NULL);
  assert_not_found (first, "password");
  assert_secret (second, "password", "second secret");
}
END_TEST

START_TEST (test_clear)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("caldav_0");
  g_autoptr(CairnSecrets) other = cairn_secrets_new ("caldav_1");

  store_ok (secrets, "password", "one");
  store_ok (secrets, "token", "two");
  store_ok (other, "password", "three");

  clear_ok (secrets, "password");
  assert_not_found (secrets, "password");
  assert_secret (secrets, "token", "two");

  /* Clearing what is not there succeeds. */
  clear_ok (secrets, "password");

  clear_ok (secrets, NULL);
  assert_not_found (secrets, "token");
  assert_secret (other, "password", "three");
  clear_ok (secrets, NULL);
}
END_TEST

START_TEST (test_invalid)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");
  const char *bad_strings[] = { "", "\xff", "ab\xc3" };
  GError *error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bad_strings); i++)
    {
      const char *bad = bad_strings[i];
      g_autofree char *found = NULL;
      g_autofree char *found_async = NULL;

      ck_assert (!cairn_secrets_store_sync (secrets, bad, "secret", NULL, &error));
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
      ck_assert (!cairn_secrets_store_sync (secrets, "password", bad, NULL, &error));
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
      found = cairn_secrets_lookup_sync (secrets, bad, NULL, &error);
      ck_assert_ptr_null (found);
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
      ck_assert (!cairn_secrets_clear_sync (secrets, bad, NULL, &error));
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);

      ck_assert (!store_async (secrets, bad, "secret", NULL, &error));
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
      ck_assert (!store_async (secrets, "password", bad, NULL, &error));
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
      found_async = lookup_async (secrets, bad, NULL, &error);
      ck_assert_ptr_null (found_async);
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
      ck_assert (!clear_async (secrets, bad, NULL, &error));
      assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_INVALID);
    }

  /* Nothing was stored by the refused calls. */
  assert_not_found (secrets, "password");
}
END_TEST

START_TEST (test_locked)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");
  g_autofree char *found = NULL;
  g_autofree char *found_async = NULL;
  GError *error = NULL;
  gint64 start;

  store_ok (secrets, "password", "before the lock");
  ck_assert (cairn_test_environment_lock_secrets (environment, &error));
  assert_no_error (error);

  /* No prompt can open here: every call fails at once rather than wait. */
  start = g_get_monotonic_time ();
  found = cairn_secrets_lookup_sync (secrets, "password", NULL, &error);
  ck_assert_ptr_null (found);
  assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_UNAVAILABLE);
  ck_assert (!cairn_secrets_store_sync (secrets, "token", "during the lock", NULL, &error));
  assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_UNAVAILABLE);
  ck_assert (!cairn_secrets_clear_sync (secrets, NULL, NULL, &error));
  assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_UNAVAILABLE);
  found_async = lookup_async (secrets, "password", NULL, &error);
  ck_assert_ptr_null (found_async);
  assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_UNAVAILABLE);
  ck_assert_int_lt (g_get_monotonic_time () - start, 5 * G_USEC_PER_SEC);

  ck_assert (cairn_test_environment_unlock_secrets (environment, &error));
  assert_no_error (error);
  assert_secret (secrets, "password", "before the lock");
  assert_not_found (secrets, "token");
}
END_TEST

START_TEST (test_cancelled)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *found = NULL;
  g_autofree char *found_async = NULL;
  GError *error = NULL;

  store_ok (secrets, "password", "kept");
  g_cancellable_cancel (cancellable);

  ck_assert (!cairn_secrets_store_sync (secrets, "password", "lost", cancellable, &error));
  assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  found = cairn_secrets_lookup_sync (secrets, "password", cancellable, &error);
  ck_assert_ptr_null (found);
  assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert (!cairn_secrets_clear_sync (secrets, "password", cancellable, &error));
  assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  ck_assert (!store_async (secrets, "password", "lost", cancellable, &error));
  assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  found_async = lookup_async (secrets, "password", cancellable, &error);
  ck_assert_ptr_null (found_async);
  assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ck_assert (!clear_async (secrets, "password", cancellable, &error));
  assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  assert_secret (secrets, "password", "kept");
}
END_TEST

START_TEST (test_async)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("carddav_0");
  g_autofree char *found = NULL;
  g_autofree char *missing = NULL;
  GError *error = NULL;

  ck_assert (store_async (secrets, "token", "async secret", NULL, &error));
  assert_no_error (error);
  found = lookup_async (secrets, "token", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (found, "async secret");

  ck_assert (clear_async (secrets, "token", NULL, &error));
  assert_no_error (error);
  missing = lookup_async (secrets, "token", NULL, &error);
  ck_assert_ptr_null (missing);
  assert_error (error, CAIRN_SECRETS_ERROR, CAIRN_SECRETS_ERROR_NOT_FOUND);

  ck_assert (store_async (secrets, "token", "again", NULL, &error));
  ck_assert (clear_async (secrets, NULL, NULL, &error));
  assert_no_error (error);
  assert_not_found (secrets, "token");
}
END_TEST

/* Leaks: everything logged is recorded, with debug messages on. */

/* Written from the worker threads too. */
static GString *log_record;
static GMutex log_mutex;

static GLogWriterOutput
record_log (GLogLevelFlags   log_level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  g_mutex_lock (&log_mutex);
  for (gsize i = 0; i < n_fields; i++)
    {
      g_string_append_printf (log_record, "%s=", fields[i].key);
      if (fields[i].length < 0)
        g_string_append (log_record, fields[i].value);
      else
        g_string_append_len (log_record, fields[i].value, fields[i].length);
      g_string_append_c (log_record, '\n');
    }
  g_mutex_unlock (&log_mutex);
  return G_LOG_WRITER_HANDLED;
}

static gboolean
create_collection_block (CairnTransaction  *txn,
                         gpointer           data,
                         GError           **error)
{
  g_autoptr(CairnCollection) collection = cairn_collection_new ("imap_0", 0, "INBOX");

  return cairn_transaction_create_collection (txn, collection, error);
}

static void
assert_file_clean (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  GError *error = NULL;

  ck_assert_msg (g_file_get_contents (path, &contents, &length, &error), "read %s: %s", path,
                 error ? error->message : "");
  ck_assert_msg (memmem (contents, length, CANARY, strlen (CANARY)) == NULL,
                 "the secret is in %s", path);
}

/* Checks every regular file under @folder but those under @skip, and
 * returns how many there were. */
static guint
assert_tree_clean (const char *folder,
                   const char *skip)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint n_files = 0;

  ck_assert_ptr_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);

      if (g_strcmp0 (path, skip) == 0 || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        n_files += assert_tree_clean (path, skip);
      else if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          assert_file_clean (path);
          n_files++;
        }
    }
  return n_files;
}

START_TEST (test_secret_not_leaked)
{
  g_autoptr(CairnSecrets) secrets = cairn_secrets_new ("imap_0");
  g_autoptr(CairnStore) store = NULL;
  g_autofree char *found = NULL;
  g_autofree char *found_async = NULL;
  g_autofree char *wal = NULL;
  g_autofree char *store_folder = NULL;
  g_autofree char *keyrings = NULL;
  g_auto(GStrv) variables = g_get_environ ();
  GError *error = NULL;

  log_record = g_string_new (NULL);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  g_log_set_debug_enabled (TRUE);
  g_log_set_writer_func (record_log, NULL, NULL);
  g_debug ("recording the log");

  /* A store in use beside the secrets, with its WAL still there. */
  store = cairn_test_environment_open_store (environment, &error);
  assert_no_error (error);
  ck_assert (cairn_store_write_sync (store, create_collection_block, NULL, NULL, NULL, &error));
  assert_no_error (error);

  store_ok (secrets, "password", CANARY);
  assert_secret (secrets, "password", CANARY);
  ck_assert (store_async (secrets, "token", CANARY, NULL, &error));
  found_async = lookup_async (secrets, "token", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (found_async, CANARY);
  found = cairn_secrets_lookup_sync (secrets, "missing", NULL, &error);
  g_clear_error (&error);

  wal = g_strconcat (cairn_test_environment_get_store_path (environment), "-wal", NULL);
  ck_assert (g_file_test (wal, G_FILE_TEST_EXISTS));
  assert_file_clean (cairn_test_environment_get_store_path (environment));
  assert_file_clean (wal);

  /* Every file of the environment (the configuration, the store folder,
   * the daemons' logs) but the keyring's own. */
  store_folder = g_path_get_dirname (cairn_test_environment_get_store_path (environment));
  ck_assert_uint_gt (assert_tree_clean (store_folder, NULL), 1);
  assert_tree_clean (g_getenv ("XDG_CONFIG_HOME"), NULL);
  keyrings = g_build_filename (g_getenv ("XDG_DATA_HOME"), "keyrings", NULL);
  ck_assert (g_file_test (keyrings, G_FILE_TEST_IS_DIR));
  assert_tree_clean (cairn_test_environment_get_path (environment), keyrings);

  for (gsize i = 0; variables[i] != NULL; i++)
    ck_assert_ptr_null (strstr (variables[i], CANARY));

  g_clear_object (&store);
  g_mutex_lock (&log_mutex);
  ck_assert_ptr_nonnull (strstr (log_record->str, "recording the log"));
  ck_assert_msg (strstr (log_record->str, CANARY) == NULL, "the secret was logged");
  g_mutex_unlock (&log_mutex);
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "secrets", test_store_and_lookup },
    { "secrets", test_lookup_missing },
    { "secrets", test_instances_apart },
    { "secrets", test_clear },
    { "secrets", test_async },
    { "errors", test_invalid },
    { "errors", test_locked },
    { "errors", test_cancelled },
    { "leaks", test_secret_not_leaked },
  };

  return cairn_test_suite_run (cairn_test_suite_new ("secrets", cases, G_N_ELEMENTS (cases), setup,
                                                     teardown, 60));
}
