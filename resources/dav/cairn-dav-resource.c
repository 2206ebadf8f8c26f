/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CalDAV and CardDAV resource, described in docs/dav.md:
 *
 *   [Agent]
 *   Type=dav
 *   url=https://dav.example.org/
 *   user=me
 *   conflict-policy=keep-server
 *
 * Every calendar, task list and address book is a collection (remote id:
 * its path on the server); every calendar object or vCard an item
 * (remote id: its path, remote revision: its ETag, GID: its UID) whose
 * payload is the server's bytes. The base class runs every method in a
 * worker thread, where libsoup's blocking calls do the HTTP. */
#include <string.h>
#include <libsoup/soup.h>
#include <libxml/parser.h>
#include <libical/ical.h>

#include <cairn/cairn.h>

#include "cairn-dav-client-private.h"
#include "cairn-dav-multistatus-private.h"
#include "cairn-dav-object-private.h"

#define DEFAULT_MAX_OBJECT_SIZE (10u * 1024 * 1024)
/* The largest multistatus listing read: some 200,000 entries. */
#define MAX_LISTING_SIZE (64u * 1024 * 1024)
#define MAX_PROPERTIES_SIZE (4u * 1024 * 1024)
#define MAX_REDIRECTS 5
#define DEFAULT_MULTIGET_BATCH 100
#define PREFETCH_DEPTH 3
/* The probe (see retrieve_collections_sync()): a getlastmodified is
 * trusted only when it is this many seconds older than the listing
 * that saw it, and a sync-collection runs at least this often. */
#define PROBE_MARGIN 2
#define FULL_CHECK_INTERVAL (5 * 60)

/* A remote revision written by our own PUT: the server may have stored
 * the object otherwise than it was sent (Radicale writes it anew), so
 * the next sync reads it again; the ETag after the prefix is what
 * If-Match sends. */
#define PUT_PREFIX "put:"

#define CAIRN_TYPE_DAV_RESOURCE (cairn_dav_resource_get_type ())
G_DECLARE_FINAL_TYPE (CairnDavResource, cairn_dav_resource, CAIRN, DAV_RESOURCE, CairnResource)

struct _CairnDavResource
{
  CairnResource parent_instance;

  char *url;
  char *user;
  char *fingerprint;
  char *services;
  guint64 max_object_size;
  guint multiget_batch;

  CairnDavClient *client;
  GMutex lock;              /* guards the fields below */
  char *calendar_home;      /* found by discovery; NULL until then */
  char *addressbook_home;
  char *state_path;         /* sync tokens and ctags, per collection */
  GHashTable *listed;       /* collection path → Listed, of the last listing */
};

/* What the last listing of the homes said of one collection: its ctag,
 * or, when the listing was the probe, its getlastmodified and the
 * earliest server time at which the listing can have been made. */
typedef struct
{
  gboolean probe;
  char *ctag;
  char *lastmodified;
  gint64 listed_at;
} Listed;

static void
listed_free (Listed *listed)
{
  g_free (listed->ctag);
  g_free (listed->lastmodified);
  g_free (listed);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Listed, listed_free)

enum
{
  PROP_0,
  PROP_URL,
  PROP_USER,
  PROP_FINGERPRINT,
  PROP_SERVICES,
  PROP_MAX_OBJECT_SIZE,
  PROP_MULTIGET_BATCH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CairnDavResource, cairn_dav_resource, CAIRN_TYPE_RESOURCE)

static gboolean
wants (CairnDavResource *self,
       const char       *service)
{
  g_auto(GStrv) services = g_strsplit_set (self->services ? self->services : "", ";, ", -1);

  return self->services == NULL || g_strv_contains ((const char * const *) services, service);
}

/* The password, looked up once: the Secret Service may be slow. */
static gboolean
ensure_password (CairnDavResource  *self,
                 GCancellable      *cancellable,
                 GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  char *password;

  if (self->user == NULL || *self->user == '\0' || cairn_dav_client_has_password (self->client))
    return TRUE;
  password = cairn_secrets_lookup_sync (cairn_resource_get_secrets (CAIRN_RESOURCE (self)),
                                        "password", cancellable, &local_error);
  if (password == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS,
                        "No password for %s: %s", self->user,
                        local_error ? local_error->message : "none stored"), FALSE;
  cairn_dav_client_set_password (self->client, password);
  /* Ordinary memory (cairn_secrets_lookup_sync()): wiped before freed. */
  memset (password, 0, strlen (password));
  g_free (password);
  return TRUE;
}

/* Requests */

static CairnDavResponse *
request (CairnDavResource  *self,
         const char        *method,
         const char        *path,
         const char        *depth,
         const char        *body,
         gsize              max_size,
         GCancellable      *cancellable,
         GError           **error)
{
  g_autoptr(GBytes) bytes = body ? g_bytes_new (body, strlen (body)) : NULL;

  return cairn_dav_client_send (self->client, method, path, depth,
                                "application/xml; charset=utf-8", bytes, CAIRN_DAV_IF_ANY, NULL,
                                max_size, cancellable, error);
}

/* A PROPFIND or REPORT whose answer must be a multistatus. */
static GPtrArray *
multistatus (CairnDavResource  *self,
             const char        *method,
             const char        *path,
             const char        *depth,
             const char        *body,
             gsize              max_size,
             char             **sync_token,
             guint             *status,
             gint64            *answered_after,
             GCancellable      *cancellable,
             GError           **error)
{
  g_autoptr(CairnDavResponse) response = request (self, method, path, depth, body, max_size,
                                                  cancellable, error);

  if (response == NULL)
    return NULL;
  if (status != NULL)
    *status = response->status;
  if (answered_after != NULL)
    *answered_after = response->answered_after;
  if (response->status != 207)
    {
      if (!cairn_dav_client_check_status (response, method, path, error))
        return NULL;
      return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                          "%s %s: not a multistatus answer (%u)", method, path,
                          response->status), NULL;
    }
  return cairn_dav_multistatus_parse (response->body, sync_token, error);
}

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
#define NAMESPACES "xmlns:D=\"DAV:\" xmlns:C=\"" CAIRN_CALDAV_NS "\" xmlns:A=\"" \
  CAIRN_CARDDAV_NS "\" xmlns:S=\"" CAIRN_CALSERVER_NS "\" xmlns:I=\"" CAIRN_APPLE_ICAL_NS "\""

/* Discovery (RFC 6764 §6, RFC 4791 §6, RFC 6352 §7) */

/* The principal named at @path, following at most MAX_REDIRECTS
 * redirects (the well-known URLs answer with one) on the same origin. */
static char *
find_principal (CairnDavResource  *self,
                const char        *start,
                GCancellable      *cancellable,
                GError           **error)
{
  const char *body = XML_HEAD "<D:propfind " NAMESPACES "><D:prop><D:current-user-principal/>"
                     "</D:prop></D:propfind>";
  g_autofree char *path = g_strdup (start);

  for (guint i = 0; i <= MAX_REDIRECTS; i++)
    {
      g_autoptr(CairnDavResponse) response = request (self, "PROPFIND", path, "0", body,
                                                      MAX_PROPERTIES_SIZE, cancellable, error);
      g_autoptr(GPtrArray) entries = NULL;

      if (response == NULL)
        return NULL;
      if (SOUP_STATUS_IS_REDIRECTION (response->status) && response->location != NULL)
        {
          char *next = cairn_dav_client_resolve (self->client, path, response->location, error);

          if (next == NULL)
            return NULL;
          g_free (path);
          path = next;
          continue;
        }
      if (response->status != 207)
        return cairn_dav_client_check_status (response, "PROPFIND", path, error)
               ? (g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                               "PROPFIND %s: no principal", path), NULL)
               : NULL;
      entries = cairn_dav_multistatus_parse (response->body, NULL, error);
      if (entries == NULL)
        return NULL;
      for (guint j = 0; j < entries->len; j++)
        {
          CairnDavEntry *entry = g_ptr_array_index (entries, j);

          if (entry->principal != NULL)
            return cairn_dav_client_resolve (self->client, path, entry->principal, error);
        }
      return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                          "PROPFIND %s: no current-user-principal", path), NULL;
    }
  return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                      "%s: too many redirects", start), NULL;
}

/* Finds the calendar and address-book homes once per run: from the
 * configured URL, else from the well-known URLs. */
static gboolean
discover_homes (CairnDavResource  *self,
                GCancellable      *cancellable,
                GError           **error)
{
  const char *body = XML_HEAD "<D:propfind " NAMESPACES "><D:prop><C:calendar-home-set/>"
                     "<A:addressbook-home-set/></D:prop></D:propfind>";
  const char *starts[] = { cairn_dav_client_get_path (self->client), "/.well-known/caldav",
                           "/.well-known/carddav" };
  g_autoptr(GError) first_error = NULL;
  g_autofree char *principal = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *calendar_home = NULL;
  g_autofree char *addressbook_home = NULL;
  gboolean known;

  g_mutex_lock (&self->lock);
  known = self->calendar_home != NULL || self->addressbook_home != NULL;
  g_mutex_unlock (&self->lock);
  if (known)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (starts) && principal == NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;

      principal = find_principal (self, starts[i], cancellable, &local_error);
      if (principal == NULL && local_error != NULL &&
          (local_error->code == CAIRN_RESOURCE_ERROR_TRANSIENT ||
           local_error->code == CAIRN_RESOURCE_ERROR_NEEDS_CREDENTIALS ||
           g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
        return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
      if (first_error == NULL)
        first_error = g_steal_pointer (&local_error);
    }
  if (principal == NULL)
    return g_propagate_error (error, g_steal_pointer (&first_error)), FALSE;

  entries = multistatus (self, "PROPFIND", principal, "0", body, MAX_PROPERTIES_SIZE, NULL, NULL,
                         NULL, cancellable, error);
  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);

      if (calendar_home == NULL && entry->calendar_homes && entry->calendar_homes[0] &&
          (calendar_home = cairn_dav_client_resolve (self->client, principal,
                                                     entry->calendar_homes[0], error)) == NULL)
        return FALSE;
      if (addressbook_home == NULL && entry->addressbook_homes && entry->addressbook_homes[0] &&
          (addressbook_home = cairn_dav_client_resolve (self->client, principal,
                                                        entry->addressbook_homes[0],
                                                        error)) == NULL)
        return FALSE;
    }
  if (calendar_home == NULL && addressbook_home == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The principal %s has neither a calendar nor an address-book home",
                        principal), FALSE;
  g_mutex_lock (&self->lock);
  g_free (self->calendar_home);
  self->calendar_home = g_steal_pointer (&calendar_home);
  g_free (self->addressbook_home);
  self->addressbook_home = g_steal_pointer (&addressbook_home);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static char *
dup_home (CairnDavResource *self,
          gboolean          calendar)
{
  char *home;

  g_mutex_lock (&self->lock);
  home = g_strdup (calendar ? self->calendar_home : self->addressbook_home);
  g_mutex_unlock (&self->lock);
  return home;
}

static void
set_attribute (CairnCollection *collection,
               const char      *name,
               const char      *value)
{
  g_autoptr(GBytes) bytes = value ? g_bytes_new (value, strlen (value)) : NULL;

  if (bytes != NULL)
    cairn_collection_set_attribute (collection, name, bytes);
}

/* The last segment of @path, unescaped: a name for a collection without
 * displayname. */
static char *
last_segment (const char *path)
{
  g_autofree char *trimmed = g_strdup (path);
  g_autofree char *plain = NULL;
  char *slash;

  while (g_str_has_suffix (trimmed, "/") && trimmed[1] != '\0')
    trimmed[strlen (trimmed) - 1] = '\0';
  slash = strrchr (trimmed, '/');
  plain = g_uri_unescape_string (slash ? slash + 1 : trimmed, NULL);
  return plain && g_utf8_validate (plain, -1, NULL) && *plain ? g_steal_pointer (&plain)
                                                              : g_strdup (trimmed);
}

/* The collections of @home with what a user sees of them, and either
 * getctag or, for the probe, getlastmodified: Radicale reads every
 * member to answer getctag, but only their file times for the other. */
static gboolean
list_home (CairnDavResource  *self,
           const char        *home,
           gboolean           probe,
           GHashTable        *seen,
           GPtrArray         *collections,
           GHashTable        *listed,
           gboolean          *incomplete,
           GCancellable      *cancellable,
           GError           **error)
{
  g_autofree char *body = g_strconcat (XML_HEAD "<D:propfind " NAMESPACES "><D:prop>"
                                       "<D:resourcetype/><D:displayname/><I:calendar-color/>"
                                       "<C:calendar-description/><A:addressbook-description/>"
                                       "<C:supported-calendar-component-set/>",
                                       probe ? "<D:getlastmodified/>" : "<S:getctag/>",
                                       "</D:prop></D:propfind>", NULL);
  gint64 answered_after = 0;
  g_autoptr(GPtrArray) entries = multistatus (self, "PROPFIND", home, "1", body,
                                              MAX_LISTING_SIZE, NULL, NULL, &answered_after,
                                              cancellable, error);

  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr(GError) local_error = NULL;
      g_autofree char *path = NULL;
      g_autofree char *name = NULL;
      CairnCollection *collection;
      Listed *seen_as;
      const char *types[2] = { NULL, NULL };

      if (!(entry->calendar && wants (self, "caldav")) &&
          !(entry->addressbook && wants (self, "carddav")))
        continue;
      path = cairn_dav_client_resolve (self->client, home, entry->href, &local_error);
      if (path == NULL || !g_str_has_prefix (path, home) || !g_str_has_suffix (path, "/"))
        {
          g_warning ("Left out the collection %s: %s", entry->href,
                     local_error ? local_error->message : "not in its home");
          continue;
        }
      if (!g_hash_table_add (seen, g_strdup (path)))
        continue;
      name = entry->displayname ? g_strdup (entry->displayname) : last_segment (path);
      collection = cairn_collection_new (NULL, 0, name);
      g_ptr_array_add (collections, collection);
      cairn_collection_set_remote_id (collection, path);
      cairn_collection_set_remote_revision (collection, probe ? entry->lastmodified : entry->ctag);
      seen_as = g_new0 (Listed, 1);
      seen_as->probe = probe;
      seen_as->ctag = g_strdup (entry->ctag);
      seen_as->lastmodified = g_strdup (entry->lastmodified);
      seen_as->listed_at = answered_after;
      g_hash_table_replace (listed, g_strdup (path), seen_as);
      /* Without a Date nothing the probe says can be trusted. */
      *incomplete |= probe && (entry->lastmodified == NULL || answered_after == 0);
      types[0] = entry->calendar ? CAIRN_DAV_CALENDAR_TYPE : CAIRN_DAV_VCARD_TYPE;
      cairn_collection_set_content_mime_types (collection, types);
      set_attribute (collection, "color", entry->color);
      set_attribute (collection, "description", entry->description);
      if (entry->components != NULL)
        {
          g_autofree char *components = g_strjoinv (",", entry->components);

          set_attribute (collection, "components", components);
        }
    }
  return TRUE;
}

/* Sync state: per collection (by store id, so that a collection made
 * anew starts afresh) its href, and the sync token, ctag or
 * getlastmodified and time of the last full check of the last sync that
 * completed; for the account whether the probe is disabled. Written
 * after the items it covers are in the store: a crash in between
 * repeats a little work, never skips any. */

static GKeyFile *
load_state (CairnDavResource *self)
{
  GKeyFile *state = g_key_file_new ();

  g_key_file_load_from_file (state, self->state_path, G_KEY_FILE_NONE, NULL);
  return state;
}

static char *
state_group (CairnCollection *collection)
{
  return g_strdup_printf ("collection-%" G_GUINT64_FORMAT, cairn_collection_get_id (collection));
}

/* The state, without @collection's group when that is of another href. */
static GKeyFile *
read_state (CairnDavResource *self,
            CairnCollection  *collection)
{
  g_autofree char *group = state_group (collection);
  g_autofree char *href = NULL;
  GKeyFile *state;

  g_mutex_lock (&self->lock);
  state = load_state (self);
  g_mutex_unlock (&self->lock);
  href = g_key_file_get_string (state, group, "href", NULL);
  if (g_strcmp0 (href, cairn_collection_get_remote_id (collection)) != 0)
    g_key_file_remove_group (state, group, NULL);
  return state;
}

static gboolean
save_state (CairnDavResource  *self,
            GKeyFile          *state,
            GError           **error)
{
  g_autofree char *folder = g_path_get_dirname (self->state_path);

  return g_mkdir_with_parents (folder, 0700) == 0 &&
         g_key_file_save_to_file (state, self->state_path, error);
}

/* After a complete sync: its token, the ctag or (after the probe) the
 * getlastmodified the listing before it saw, and the time of this
 * sync-collection, the last full check. A sync that no listing came
 * before keeps those of the last one: they are older than its token. */
static gboolean
write_state (CairnDavResource  *self,
             CairnCollection   *collection,
             const char        *token,
             const Listed      *listed,
             GError           **error)
{
  const char *from_listing[] = { "ctag", "lastmodified", "listed-at" };
  g_autofree char *group = state_group (collection);
  g_autoptr(GKeyFile) state = NULL;
  g_autofree char *href = NULL;
  gboolean ok;

  g_mutex_lock (&self->lock);
  state = load_state (self);
  href = g_key_file_get_string (state, group, "href", NULL);
  if (g_strcmp0 (href, cairn_collection_get_remote_id (collection)) != 0)
    g_key_file_remove_group (state, group, NULL);
  for (guint i = 0; listed != NULL && i < G_N_ELEMENTS (from_listing); i++)
    g_key_file_remove_key (state, group, from_listing[i], NULL);
  g_key_file_set_string (state, group, "href", cairn_collection_get_remote_id (collection));
  g_key_file_remove_key (state, group, "token", NULL);
  if (token != NULL)
    g_key_file_set_string (state, group, "token", token);
  if (listed != NULL && listed->ctag != NULL)
    g_key_file_set_string (state, group, "ctag", listed->ctag);
  if (listed != NULL && listed->probe)
    {
      g_key_file_set_string (state, group, "lastmodified", listed->lastmodified);
      g_key_file_set_int64 (state, group, "listed-at", listed->listed_at);
    }
  g_key_file_set_int64 (state, group, "full-check", g_get_real_time () / G_USEC_PER_SEC);
  ok = save_state (self, state, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

static gboolean
probe_disabled (CairnDavResource *self)
{
  g_autoptr(GKeyFile) state = NULL;
  gboolean disabled;

  g_mutex_lock (&self->lock);
  state = load_state (self);
  disabled = g_key_file_has_key (state, "account", "probe-disabled", NULL);
  g_mutex_unlock (&self->lock);
  return disabled;
}

/* For good: a server that misled the probe once may do it again. */
static gboolean
disable_probe (CairnDavResource  *self,
               const char        *reason,
               GError           **error)
{
  g_autoptr(GKeyFile) state = NULL;
  gboolean ok;

  g_warning ("%s: getlastmodified is not used to find changes any more: %s",
             cairn_agent_get_id (CAIRN_AGENT (self)), reason);
  g_mutex_lock (&self->lock);
  state = load_state (self);
  g_key_file_set_string (state, "account", "probe-disabled", reason);
  ok = save_state (self, state, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* The collections of both homes; @incomplete is set when the probe
 * lacks what it needs for one of them. */
static GPtrArray *
list_homes (CairnDavResource  *self,
            gboolean           probe,
            gboolean          *incomplete,
            GCancellable      *cancellable,
            GError           **error)
{
  g_autoptr(GPtrArray) collections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) listed_free);
  g_autofree char *calendar_home = dup_home (self, TRUE);
  g_autofree char *addressbook_home = dup_home (self, FALSE);

  if (calendar_home != NULL &&
      !list_home (self, calendar_home, probe, seen, collections, listed, incomplete, cancellable,
                  error))
    return NULL;
  if (addressbook_home != NULL && g_strcmp0 (addressbook_home, calendar_home) != 0 &&
      !list_home (self, addressbook_home, probe, seen, collections, listed, incomplete,
                  cancellable, error))
    return NULL;
  g_mutex_lock (&self->lock);
  g_hash_table_unref (self->listed);
  self->listed = g_steal_pointer (&listed);
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&collections);
}

/* Every sync lists the homes; that listing is also what tells whether
 * anything changed. getctag would tell, but Radicale reads every member
 * of a collection to answer it; so, unless disabled for the account,
 * the listing asks for getlastmodified instead (the probe), and
 * retrieve_items_sync() trusts it only when it is safe. A server that
 * does not give it for each collection, or whose Date is missing, gets
 * the getctag listing, from now on. */
static GPtrArray *
retrieve_collections_sync (CairnResource  *resource,
                           GCancellable   *cancellable,
                           GError        **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  g_autoptr(GPtrArray) collections = NULL;
  gboolean incomplete = FALSE;

  if (!ensure_password (self, cancellable, error) || !discover_homes (self, cancellable, error))
    return NULL;
  collections = list_homes (self, !probe_disabled (self), &incomplete, cancellable, error);
  if (collections != NULL && incomplete)
    {
      if (!disable_probe (self, "the server gives no getlastmodified or Date for a collection",
                          error))
        return NULL;
      g_clear_pointer (&collections, g_ptr_array_unref);
      collections = list_homes (self, FALSE, &incomplete, cancellable, error);
    }
  return g_steal_pointer (&collections);
}

/* Items */

static const char *
payload_part (const char *mime_type)
{
  return g_strcmp0 (mime_type, CAIRN_DAV_VCARD_TYPE) == 0 ? CAIRN_DAV_PART_VCARD
                                                          : CAIRN_DAV_PART_ICALENDAR;
}

static const char *
collection_type (CairnCollection *collection)
{
  const char * const *types = cairn_collection_get_content_mime_types (collection);

  return types && g_strv_contains (types, CAIRN_DAV_VCARD_TYPE) ? CAIRN_DAV_VCARD_TYPE
                                                                : CAIRN_DAV_CALENDAR_TYPE;
}

/* An item of the server's bytes; fails for data that cannot be read. */
static CairnItem *
make_item (const char  *path,
           const char  *etag,
           const char  *mime_type,
           GBytes      *data,
           GError     **error)
{
  g_autoptr(CairnItem) item = cairn_item_new (mime_type);
  g_autoptr(CairnPart) payload = NULL;
  g_autoptr(CairnPart) summary_part = NULL;
  g_autoptr(GBytes) summary = NULL;
  g_autofree char *uid = NULL;

  if (!cairn_dav_object_parse (mime_type, data, &uid, &summary, error))
    return NULL;
  payload = cairn_part_new_inline (payload_part (mime_type), data);
  summary_part = cairn_part_new_inline (CAIRN_DAV_PART_SUMMARY, summary);
  cairn_item_set_remote_id (item, path);
  cairn_item_set_remote_revision (item, etag);
  cairn_item_set_gid (item, uid);
  cairn_item_set_size (item, g_bytes_get_size (data));
  cairn_item_set_part (item, payload);
  cairn_item_set_part (item, summary_part);
  return g_steal_pointer (&item);
}

/* What a sync met that it could not store; returned as the collection's
 * sync failure, so that users see each href and why. */
static void
add_problem (GString    *problems,
             const char *href,
             const char *reason)
{
  g_string_append_printf (problems, "%s%s: %s", problems->len ? "; " : "", href, reason);
}

/* One member of a collection as a listing named it: the path it
 * resolves to, kept only when it lies directly in the collection. */
static char *
member_path (CairnDavResource *self,
             const char       *collection,
             const char       *href,
             GString          *problems)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cairn_dav_client_resolve (self->client, collection, href, &error);

  if (path == NULL)
    return add_problem (problems, href, error->message), NULL;
  if (!g_str_has_prefix (path, collection) || path[strlen (collection)] == '\0' ||
      strchr (path + strlen (collection), '/') != NULL)
    {
      /* The collection itself, or a sub-collection, is no object. */
      if (!g_str_has_prefix (path, collection))
        add_problem (problems, href, "outside the collection");
      return NULL;
    }
  return g_steal_pointer (&path);
}

static GPtrArray *
request_batch (CairnDavResource  *self,
               const char        *href,
               gboolean           calendar,
               GPtrArray         *paths,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autoptr(GString) body = g_string_new (XML_HEAD);

  g_string_append_printf (body, "<%s " NAMESPACES "><D:prop><D:getetag/><%s/></D:prop>",
                          calendar ? "C:calendar-multiget" : "A:addressbook-multiget",
                          calendar ? "C:calendar-data" : "A:address-data");
  for (guint i = 0; i < paths->len; i++)
    {
      g_autofree char *escaped = g_markup_escape_text (g_ptr_array_index (paths, i), -1);

      g_string_append_printf (body, "<D:href>%s</D:href>", escaped);
    }
  g_string_append_printf (body, "</%s>", calendar ? "C:calendar-multiget"
                                                  : "A:addressbook-multiget");
  return multistatus (self, "REPORT", href, "1", body->str,
                      MIN ((gsize) G_MAXINT, MAX_LISTING_SIZE + paths->len * self->max_object_size),
                      NULL, NULL, NULL, cancellable, error);
}

/* The objects of one multiget answer that are what was asked for and
 * can be read, added to @items; the others are problems. */
static void
read_batch (CairnDavResource  *self,
            CairnCollection   *collection,
            GPtrArray         *paths,
            GPtrArray         *entries,
            GPtrArray         *items,
            GString           *problems)
{
  const char *href = cairn_collection_get_remote_id (collection);
  const char *mime_type = collection_type (collection);
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < paths->len; i++)
    g_hash_table_add (wanted, g_ptr_array_index (paths, i));
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *path = member_path (self, href, entry->href, problems);
      g_autoptr(GError) local_error = NULL;
      CairnItem *item;

      /* Gone since it was listed: the next sync lists its removal. */
      if (path == NULL || entry->status == 404)
        continue;
      if (!g_hash_table_remove (wanted, path))
        {
          add_problem (problems, entry->href, "sent without being asked for");
          continue;
        }
      if (entry->data == NULL || entry->etag == NULL)
        {
          add_problem (problems, entry->href, "no data or no ETag");
          continue;
        }
      if (g_bytes_get_size (entry->data) > self->max_object_size)
        {
          add_problem (problems, entry->href, "larger than max-object-size");
          continue;
        }
      item = make_item (path, entry->etag, mime_type, entry->data, &local_error);
      if (item == NULL)
        add_problem (problems, entry->href, local_error->message);
      else
        g_ptr_array_add (items, item);
    }
}

/* The multigets of one sync, sent by a thread of their own up to
 * PREFETCH_DEPTH batches ahead of the sync that stores them: the server
 * prepares the next batches while this one is parsed and written, and a
 * slow write (a commit on a busy disk) does not hold the requests up. */
typedef struct
{
  CairnDavResource *self;
  const char *href;
  gboolean calendar;
  GPtrArray *changed;
  GCancellable *cancellable;
  GAsyncQueue *fetched;       /* Fetched, in order */
  GAsyncQueue *room;          /* one token for each batch that may wait */
} Prefetch;

typedef struct
{
  GPtrArray *paths;
  GPtrArray *entries;
  GError *error;
} Fetched;

static void
fetched_free (Fetched *fetched)
{
  g_ptr_array_unref (fetched->paths);
  g_clear_pointer (&fetched->entries, g_ptr_array_unref);
  g_clear_error (&fetched->error);
  g_free (fetched);
}

static gpointer
prefetch_thread (gpointer data)
{
  Prefetch *prefetch = data;
  guint batch = prefetch->self->multiget_batch;

  for (guint start = 0; start < prefetch->changed->len; start += batch)
    {
      Fetched *fetched = g_new0 (Fetched, 1);
      gboolean failed;

      g_async_queue_pop (prefetch->room);
      fetched->paths = g_ptr_array_new ();
      for (guint i = start; i < MIN (prefetch->changed->len, start + batch); i++)
        g_ptr_array_add (fetched->paths, g_ptr_array_index (prefetch->changed, i));
      fetched->entries = request_batch (prefetch->self, prefetch->href, prefetch->calendar,
                                        fetched->paths, prefetch->cancellable, &fetched->error);
      /* Once pushed, the batch is the sync's, which may free it at once. */
      failed = fetched->entries == NULL;
      g_async_queue_push (prefetch->fetched, fetched);
      if (failed)
        break;
    }
  return NULL;
}

static void
cancel_prefetch (GCancellable *cancellable,
                 gpointer      user_data)
{
  g_cancellable_cancel (user_data);
}

static gboolean
fetch_changed (CairnDavResource  *self,
               CairnCollection   *collection,
               CairnItemSync     *sync,
               GPtrArray         *changed,
               GString           *problems,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autoptr(GCancellable) own = g_cancellable_new ();
  Prefetch prefetch = { self, cairn_collection_get_remote_id (collection),
                        g_str_equal (collection_type (collection), CAIRN_DAV_CALENDAR_TYPE),
                        changed, own, g_async_queue_new_full ((GDestroyNotify) fetched_free),
                        g_async_queue_new () };
  gulong handler = cancellable ? g_cancellable_connect (cancellable, G_CALLBACK (cancel_prefetch),
                                                        own, NULL) : 0;
  guint n_batches = (changed->len + self->multiget_batch - 1) / self->multiget_batch;
  GThread *thread;
  gboolean ok = TRUE;

  for (guint i = 0; i < PREFETCH_DEPTH; i++)
    g_async_queue_push (prefetch.room, GINT_TO_POINTER (1));
  thread = g_thread_new ("cairn-dav-multiget", prefetch_thread, &prefetch);
  for (guint i = 0; i < n_batches && ok;)
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
      Fetched *fetched = g_async_queue_pop (prefetch.fetched);

      /* The batches that came while the last write ran are written in
       * one transaction: fewer commits when the store is behind, and
       * none waits for a batch still on its way. */
      do
        {
          i++;
          g_async_queue_push (prefetch.room, GINT_TO_POINTER (1));
          if (fetched->entries == NULL)
            {
              g_propagate_error (error, g_steal_pointer (&fetched->error));
              ok = FALSE;
            }
          else
            read_batch (self, collection, fetched->paths, fetched->entries, items, problems);
          fetched_free (fetched);
        }
      while (ok && i < n_batches && items->len < CAIRN_STORE_BATCH_SIZE &&
             (fetched = g_async_queue_try_pop (prefetch.fetched)) != NULL);
      if (ok && items->len > 0)
        ok = cairn_item_sync_add_items (sync, items, error);
    }
  /* A failed batch stops the thread, which may wait for room. */
  g_cancellable_cancel (own);
  g_async_queue_push (prefetch.room, GINT_TO_POINTER (1));
  g_thread_join (thread);
  g_cancellable_disconnect (cancellable, handler);
  g_async_queue_unref (prefetch.fetched);
  g_async_queue_unref (prefetch.room);
  return ok;
}

/* A listing of the collection's members (href → ETag, NULL for removed
 * ones) by sync-collection (RFC 6578) from @token ("" for all). Sets
 * @rejected when the server refused the token, @unsupported when it has
 * no sync-collection. */
static GHashTable *
list_changes (CairnDavResource  *self,
              const char        *href,
              const char        *token,
              char             **new_token,
              gboolean          *rejected,
              gboolean          *unsupported,
              GString           *problems,
              GCancellable      *cancellable,
              GError           **error)
{
  g_autofree char *escaped = g_markup_escape_text (token, -1);
  g_autofree char *body = g_strdup_printf (XML_HEAD "<D:sync-collection " NAMESPACES ">"
                                           "<D:sync-token>%s</D:sync-token>"
                                           "<D:sync-level>1</D:sync-level><D:prop><D:getetag/>"
                                           "<D:getcontentlength/></D:prop>"
                                           "</D:sync-collection>", escaped);
  g_autoptr(GHashTable) members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  guint status = 0;

  entries = multistatus (self, "REPORT", href, NULL, body, MAX_LISTING_SIZE, new_token, &status,
                         NULL, cancellable, &local_error);
  if (entries == NULL)
    {
      /* RFC 6578 §3.2: a token the server no longer knows is a 403 (or
       * 409) with DAV:valid-sync-token. Other refusals: no support. */
      if (*token != '\0' && (status == 403 || status == 409))
        *rejected = TRUE;
      else if (status == 400 || status == 403 || status == 405 || status == 415 ||
               status == 501)
        *unsupported = TRUE;
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);
      char *path = member_path (self, href, entry->href, problems);

      if (path == NULL)
        continue;
      if (entry->status == 404)
        g_hash_table_replace (members, path, NULL);
      else if (entry->length > 0 && (guint64) entry->length > self->max_object_size)
        {
          add_problem (problems, entry->href, "larger than max-object-size");
          g_free (path);
        }
      else if (entry->etag != NULL)
        g_hash_table_replace (members, path, g_strdup (entry->etag));
      else
        g_free (path);
    }
  return g_steal_pointer (&members);
}

/* The members by PROPFIND, for servers without sync-collection. */
static GHashTable *
list_members (CairnDavResource  *self,
              const char        *href,
              GString           *problems,
              GCancellable      *cancellable,
              GError           **error)
{
  const char *body = XML_HEAD "<D:propfind " NAMESPACES "><D:prop><D:getetag/>"
                     "<D:getcontentlength/></D:prop></D:propfind>";
  g_autoptr(GHashTable) members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) entries = multistatus (self, "PROPFIND", href, "1", body,
                                              MAX_LISTING_SIZE, NULL, NULL, NULL, cancellable,
                                              error);

  if (entries == NULL)
    return NULL;
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);
      char *path = member_path (self, href, entry->href, problems);

      if (path == NULL)
        continue;
      if (entry->etag != NULL && entry->status == 200 &&
          (entry->length <= 0 || (guint64) entry->length <= self->max_object_size))
        g_hash_table_replace (members, path, g_strdup (entry->etag));
      else
        {
          if (entry->etag != NULL && entry->status == 200)
            add_problem (problems, entry->href, "larger than max-object-size");
          g_free (path);
        }
    }
  return g_steal_pointer (&members);
}

/* Unix seconds of an HTTP-date; 0 for none. */
static gint64
http_time (const char *text)
{
  g_autoptr(GDateTime) time = text ? soup_date_time_new_from_http_string (text) : NULL;

  return time ? g_date_time_to_unix (time) : 0;
}

/* What the listing said of @href, once: a sync of one collection that
 * no listing came before (a client asked for it, or a retry) finds
 * nothing and does the full check. */
static Listed *
take_listed (CairnDavResource *self,
             const char       *href)
{
  gpointer found = NULL;

  g_mutex_lock (&self->lock);
  g_hash_table_steal_extended (self->listed, href, NULL, &found);
  g_mutex_unlock (&self->lock);
  return found;
}

/* Whether the probe says that nothing changed since the last complete
 * sync: the collection's getlastmodified is still the one the listing
 * before that sync saw, and that one was PROBE_MARGIN seconds older than
 * the listing. Then a change after the listing has a later time, however
 * coarse the server's file times and its HTTP-dates of whole seconds;
 * the sync's token, taken after the listing, covers all before. */
static gboolean
probe_says_unchanged (const Listed *listed,
                      const char   *old_lastmodified,
                      const char   *old_listed_at)
{
  gint64 modified = http_time (old_lastmodified);
  gint64 listed_at = old_listed_at ? g_ascii_strtoll (old_listed_at, NULL, 10) : 0;

  return listed != NULL && listed->probe && listed->lastmodified != NULL &&
         g_strcmp0 (listed->lastmodified, old_lastmodified) == 0 && modified > 0 &&
         listed_at > 0 && modified + PROBE_MARGIN <= listed_at;
}

/* The sync-collection runs every FULL_CHECK_INTERVAL whatever the probe
 * says; also when the clock went back. */
static gboolean
full_check_due (const char *last)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 then = last ? g_ascii_strtoll (last, NULL, 10) : 0;

  return then <= 0 || now < then || now - then >= FULL_CHECK_INTERVAL;
}

/* A full check found changes where the probe said none. If the
 * collection's getlastmodified, asked now, still says none, the server
 * misleads the probe: it is disabled. */
static gboolean
check_probe_miss (CairnDavResource  *self,
                  const char        *href,
                  const char        *lastmodified,
                  GCancellable      *cancellable,
                  GError           **error)
{
  const char *body = XML_HEAD "<D:propfind " NAMESPACES "><D:prop><D:getlastmodified/>"
                     "</D:prop></D:propfind>";
  g_autoptr(GPtrArray) entries = multistatus (self, "PROPFIND", href, "0", body,
                                              MAX_PROPERTIES_SIZE, NULL, NULL, NULL, cancellable,
                                              error);

  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      CairnDavEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *reason = NULL;

      if (g_strcmp0 (entry->lastmodified, lastmodified) != 0)
        continue;
      reason = g_strdup_printf ("%s changed, but its getlastmodified is still %s", href,
                                lastmodified);
      return disable_probe (self, reason, error);
    }
  return TRUE;
}

/* A sync of one collection: what changed since the token (or, with none
 * or a rejected one, every member), compared by ETag to what the store
 * has; the changed objects fetched by multiget in batches; removals;
 * then the new token. Every batch is written as it comes, so the state
 * written last never covers items that are not stored. */
static gboolean
retrieve_items_sync (CairnResource    *resource,
                     CairnCollection  *collection,
                     CairnItemSync    *sync,
                     GCancellable     *cancellable,
                     GError          **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  const char *href = cairn_collection_get_remote_id (collection);
  g_autofree char *group = state_group (collection);
  g_autoptr(GKeyFile) state = read_state (self, collection);
  g_autofree char *token = g_key_file_get_string (state, group, "token", NULL);
  g_autofree char *old_ctag = g_key_file_get_string (state, group, "ctag", NULL);
  g_autofree char *old_lastmodified = g_key_file_get_string (state, group, "lastmodified", NULL);
  g_autofree char *old_listed_at = g_key_file_get_string (state, group, "listed-at", NULL);
  g_autofree char *last_full_check = g_key_file_get_string (state, group, "full-check", NULL);
  g_autoptr(Listed) listed = take_listed (self, href);
  gboolean unchanged = probe_says_unchanged (listed, old_lastmodified, old_listed_at);
  g_autofree char *new_token = NULL;
  g_autoptr(GHashTable) members = NULL;
  g_autoptr(GHashTable) stored = NULL;
  g_autoptr(GPtrArray) changed = g_ptr_array_new ();
  g_autoptr(GPtrArray) removed = g_ptr_array_new ();
  g_autoptr(GString) problems = g_string_new (NULL);
  gboolean complete = TRUE;
  gboolean rejected = FALSE, unsupported = FALSE;
  GHashTableIter iter;
  gpointer key, value;

  /* Removals are found here, not by the sync: it removes only what
   * they name, also when the listing is skipped below. */
  cairn_item_sync_set_incremental (sync, TRUE);
  /* Nothing written since the last complete sync (the ctag changes on
   * every write, the probe as said): a no-op sync costs no request of
   * its own. */
  if (listed != NULL && listed->probe)
    {
      if (unchanged && !full_check_due (last_full_check))
        return TRUE;
    }
  else if (listed != NULL && listed->ctag != NULL && g_strcmp0 (listed->ctag, old_ctag) == 0)
    return TRUE;
  if (!ensure_password (self, cancellable, error))
    return FALSE;

  members = list_changes (self, href, token ? token : "", &new_token, &rejected, &unsupported,
                          problems, cancellable, error);
  if (members != NULL)
    {
      complete = token == NULL;
      if (unchanged && token != NULL && g_hash_table_size (members) > 0 &&
          !check_probe_miss (self, href, old_lastmodified, cancellable, error))
        return FALSE;
    }
  else if (rejected)
    {
      g_debug ("%s: the server rejected the sync token; listing every member", href);
      g_clear_pointer (&new_token, g_free);
      members = list_changes (self, href, "", &new_token, &rejected, &unsupported, problems,
                              cancellable, error);
    }
  if (members == NULL && unsupported)
    {
      g_clear_pointer (&new_token, g_free);
      members = list_members (self, href, problems, cancellable, error);
    }
  if (members == NULL)
    return FALSE;

  stored = cairn_item_sync_dup_remote_revisions (sync, error);
  if (stored == NULL)
    return FALSE;
  g_hash_table_iter_init (&iter, members);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (value == NULL)
      g_ptr_array_add (removed, key);
    else if (g_strcmp0 (g_hash_table_lookup (stored, key), value) != 0)
      g_ptr_array_add (changed, key);
  if (complete)
    {
      g_hash_table_iter_init (&iter, stored);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (!g_hash_table_contains (members, key))
          g_ptr_array_add (removed, key);
    }
  cairn_item_sync_set_expected_items (sync, changed->len);
  g_debug ("%s: %u listed, %u stored, %u changed, %u removed%s", href,
           g_hash_table_size (members), g_hash_table_size (stored), changed->len, removed->len,
           complete ? " (complete listing)" : "");

  if (changed->len > 0 &&
      !fetch_changed (self, collection, sync, changed, problems, cancellable, error))
    return FALSE;
  if (removed->len > 0)
    {
      g_ptr_array_add (removed, NULL);
      if (!cairn_item_sync_remove_items (sync, (const char * const *) removed->pdata, error))
        return FALSE;
    }

  /* What could not be stored is read again by the next sync, from the
   * same token, until the server's data is mended. */
  if (problems->len > 0)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The server sent data that cannot be stored: %s", problems->str), FALSE;
  return write_state (self, collection, new_token, listed, error);
}

/* A part asked for by a client (RetrieveItems): the object read anew. */
static CairnItem *
get_object (CairnDavResource  *self,
            const char        *path,
            const char        *mime_type,
            GCancellable      *cancellable,
            GError           **error)
{
  g_autoptr(CairnDavResponse) response = cairn_dav_client_send (self->client, "GET", path, NULL,
                                                                NULL, NULL, CAIRN_DAV_IF_ANY,
                                                                NULL, self->max_object_size,
                                                                cancellable, error);

  if (response == NULL || !cairn_dav_client_check_status (response, "GET", path, error))
    return NULL;
  return make_item (path, response->etag, mime_type, response->body, error);
}

static CairnItem *
retrieve_item_sync (CairnResource       *resource,
                    CairnItem           *item,
                    const char * const  *parts,
                    GCancellable        *cancellable,
                    GError             **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);

  if (!ensure_password (self, cancellable, error))
    return NULL;
  return get_object (self, cairn_item_get_remote_id (item), cairn_item_get_mime_type (item),
                     cancellable, error);
}

/* Replaying local changes. Each is safe to repeat after a crash: a new
 * object is named after its UID, so a second PUT meets the first. */

static const char *
plain_etag (const char *revision)
{
  if (revision != NULL && g_str_has_prefix (revision, PUT_PREFIX))
    return revision + strlen (PUT_PREFIX);
  return revision;
}

static char *
put_revision (const char *etag)
{
  return etag ? g_strconcat (PUT_PREFIX, etag, NULL) : NULL;
}

/* The payload of @item and its UID; local data that is not a calendar
 * object or vCard is refused before the server sees it. */
static GBytes *
read_payload (CairnDavResource  *self,
              CairnItem         *item,
              char             **uid,
              GCancellable      *cancellable,
              GError           **error)
{
  const char *mime_type = cairn_item_get_mime_type (item);
  CairnPart *part = cairn_item_get_part (item, payload_part (mime_type));
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GBytes) summary = NULL;
  g_autoptr(GError) local_error = NULL;

  if (part == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "Item %" G_GUINT64_FORMAT " has no %s part", cairn_item_get_id (item),
                        payload_part (mime_type)), NULL;
  data = cairn_part_read_bytes (part, self->max_object_size, cancellable, error);
  if (data == NULL)
    return NULL;
  if (!cairn_dav_object_parse (mime_type, data, uid, &summary, &local_error))
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "Item %" G_GUINT64_FORMAT " cannot be written: %s",
                        cairn_item_get_id (item), local_error->message), NULL;
  return g_steal_pointer (&data);
}

/* The name of item @id's object in @collection: made from the item id,
 * so that a second attempt of a creation meets the first, and a removal
 * of an item whose creation never reported finds what it left. */
static char *
object_path (const char *collection,
             guint64     id,
             const char *mime_type)
{
  return g_strdup_printf ("%scairn-%" G_GUINT64_FORMAT "%s", collection, id,
                          g_strcmp0 (mime_type, CAIRN_DAV_VCARD_TYPE) == 0 ? ".vcf" : ".ics");
}

static CairnDavResponse *
put (CairnDavResource   *self,
     const char         *path,
     const char         *mime_type,
     GBytes             *data,
     CairnDavCondition   condition,
     const char         *etag,
     GCancellable       *cancellable,
     GError            **error)
{
  g_autofree char *content_type = g_strconcat (mime_type, "; charset=utf-8", NULL);

  return cairn_dav_client_send (self->client, "PUT", path, NULL, content_type, data, condition,
                                etag, MAX_PROPERTIES_SIZE, cancellable, error);
}

/* Creates item @id's object from @data in @collection, under the name
 * made from @id: something there already is an earlier attempt of this
 * very creation (a crash, a lost answer), written over. A server that
 * refuses the object's UID as taken in the collection (409, RFC 4791
 * no-uid-conflict: the copy keep-both makes of a conflict, a second
 * local event with the same UID) gets it with a UID of its own, made
 * from @id too. */
static gboolean
create_object (CairnDavResource  *self,
               const char        *collection,
               const char        *mime_type,
               GBytes            *data,
               const char        *uid,
               guint64            id,
               char             **remote_id,
               char             **remote_revision,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autofree char *path = object_path (collection, id, mime_type);
  g_autoptr(GBytes) copy = NULL;
  g_autoptr(CairnDavResponse) response = put (self, path, mime_type, data,
                                              CAIRN_DAV_IF_NONE_MATCH, NULL, cancellable, error);

  if (response != NULL && response->status == 409)
    {
      g_autofree char *copy_uid = g_strdup_printf ("%s-cairn-%" G_GUINT64_FORMAT, uid, id);

      if ((copy = cairn_dav_object_set_uid (mime_type, data, copy_uid, error)) == NULL)
        return FALSE;
      data = copy;
      g_clear_pointer (&response, cairn_dav_response_free);
      response = put (self, path, mime_type, data, CAIRN_DAV_IF_NONE_MATCH, NULL, cancellable,
                      error);
    }
  if (response != NULL && response->status == 412)
    {
      g_clear_pointer (&response, cairn_dav_response_free);
      response = put (self, path, mime_type, data, CAIRN_DAV_IF_ANY, NULL, cancellable, error);
    }
  if (response == NULL || !cairn_dav_client_check_status (response, "PUT", path, error))
    return FALSE;
  *remote_id = g_steal_pointer (&path);
  *remote_revision = put_revision (response->etag);
  return TRUE;
}

static gboolean
item_added (CairnResource  *resource,
            CairnChange    *change,
            CairnItem      *item,
            char          **remote_id,
            char          **remote_revision,
            GCancellable   *cancellable,
            GError        **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  g_autofree char *collection = NULL;
  g_autofree char *uid = NULL;
  g_autoptr(GBytes) data = NULL;

  if (!ensure_password (self, cancellable, error))
    return FALSE;
  collection = cairn_resource_dup_collection_remote_id (resource,
                                                        cairn_change_get_collection_id (change),
                                                        error);
  if (collection == NULL)
    return FALSE;
  data = read_payload (self, item, &uid, cancellable, error);
  if (data == NULL)
    return FALSE;
  return create_object (self, collection, cairn_item_get_mime_type (item), data, uid,
                        cairn_change_get_entity_id (change), remote_id, remote_revision,
                        cancellable, error);
}

static gboolean
item_changed (CairnResource       *resource,
              CairnChange         *change,
              CairnItem           *item,
              const char * const  *parts,
              char               **remote_revision,
              CairnItem          **server_item,
              GCancellable        *cancellable,
              GError             **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  const char *path = cairn_item_get_remote_id (item);
  const char *mime_type = cairn_item_get_mime_type (item);
  const char *etag = plain_etag (cairn_item_get_remote_revision (item));
  g_autoptr(CairnDavResponse) response = NULL;
  g_autoptr(CairnItem) current = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autofree char *uid = NULL;

  if (!ensure_password (self, cancellable, error))
    return FALSE;
  data = read_payload (self, item, &uid, cancellable, error);
  if (data == NULL)
    return FALSE;
  response = put (self, path, mime_type, data, etag ? CAIRN_DAV_IF_MATCH : CAIRN_DAV_IF_ANY, etag,
                  cancellable, error);
  if (response == NULL)
    return FALSE;
  if (response->status == 412)
    {
      g_autoptr(GError) local_error = NULL;

      current = get_object (self, path, mime_type, cancellable, &local_error);
      /* Removed on the server meanwhile: the local edit brings it back. */
      if (current == NULL && g_error_matches (local_error, CAIRN_RESOURCE_ERROR,
                                              CAIRN_RESOURCE_ERROR_PERMANENT))
        {
          g_autoptr(CairnDavResponse) created = put (self, path, mime_type, data,
                                                     CAIRN_DAV_IF_NONE_MATCH, NULL, cancellable,
                                                     error);

          if (created == NULL || !cairn_dav_client_check_status (created, "PUT", path, error))
            return FALSE;
          *remote_revision = put_revision (created->etag);
          return TRUE;
        }
      if (current == NULL)
        return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
      /* A retry: the 412 may be the earlier attempt's own PUT, whose
       * answer was lost (a stop, a crash), and the item now has the
       * content of later edits too. Written over what is there, once,
       * if nothing changed it since that GET. */
      if (cairn_resource_replay_is_retry (resource))
        {
          const char *current_etag = plain_etag (cairn_item_get_remote_revision (current));

          g_clear_pointer (&response, cairn_dav_response_free);
          response = put (self, path, mime_type, data,
                          current_etag ? CAIRN_DAV_IF_MATCH : CAIRN_DAV_IF_ANY, current_etag,
                          cancellable, error);
          if (response == NULL)
            return FALSE;
          if (response->status != 412)
            {
              if (!cairn_dav_client_check_status (response, "PUT", path, error))
                return FALSE;
              *remote_revision = put_revision (response->etag);
              return TRUE;
            }
        }
      /* Changed on the server too: the conflict policy decides. */
      *server_item = g_steal_pointer (&current);
      return TRUE;
    }
  if (!cairn_dav_client_check_status (response, "PUT", path, error))
    return FALSE;
  *remote_revision = put_revision (response->etag);
  return TRUE;
}

/* DAV objects have no flags: they stay in the store. */
static gboolean
flags_changed (CairnResource     *resource,
               CairnChange       *change,
               CairnItem         *item,
               const CairnFlags  *added,
               const CairnFlags  *removed,
               char             **remote_revision,
               GCancellable      *cancellable,
               GError           **error)
{
  return TRUE;
}

static gboolean
delete_object (CairnDavResource  *self,
               const char        *path,
               const char        *etag,
               GCancellable      *cancellable,
               GError           **error)
{
  g_autoptr(CairnDavResponse) response = NULL;

  response = cairn_dav_client_send (self->client, "DELETE", path, NULL, NULL, NULL,
                                    etag ? CAIRN_DAV_IF_MATCH : CAIRN_DAV_IF_ANY, etag,
                                    MAX_PROPERTIES_SIZE, cancellable, error);
  if (response == NULL)
    return FALSE;
  /* Changed on the server since: kept there unless local changes win;
   * the next sync brings it back. Gone already: done. */
  if (response->status == 412)
    return cairn_resource_get_conflict_policy (CAIRN_RESOURCE (self)) !=
           CAIRN_CONFLICT_POLICY_KEEP_LOCAL ||
           delete_object (self, path, NULL, cancellable, error);
  return response->status == 404 ||
         cairn_dav_client_check_status (response, "DELETE", path, error);
}

/* What an attempt to create item @id in @collection_id may have left,
 * when the item is gone before the attempt reported. */
static gboolean
remove_attempt (CairnDavResource  *self,
                guint64            collection_id,
                guint64            id,
                const char        *mime_type,
                GCancellable      *cancellable,
                GError           **error)
{
  g_autofree char *collection = cairn_resource_dup_collection_remote_id (CAIRN_RESOURCE (self),
                                                                         collection_id, NULL);
  g_autofree char *path = collection ? object_path (collection, id, mime_type) : NULL;

  return path == NULL || delete_object (self, path, NULL, cancellable, error);
}

/* A MOVE on the server, which keeps the object's bytes and name: the
 * item handed over may have no payload (removed since). A second attempt
 * finds the source gone and the object in place. */
static gboolean
item_moved (CairnResource  *resource,
            CairnChange    *change,
            CairnItem      *item,
            guint64         source,
            guint64         destination,
            char          **remote_id,
            char          **remote_revision,
            GCancellable   *cancellable,
            GError        **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  const char *old_path = cairn_change_get_remote_id (change);
  const char *mime_type = cairn_item_get_mime_type (item);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *collection = NULL;
  g_autofree char *path = NULL;
  g_autofree char *uid = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(CairnDavResponse) response = NULL;

  if (!ensure_password (self, cancellable, error))
    return FALSE;
  collection = cairn_resource_dup_collection_remote_id (resource, destination, &local_error);
  /* Into a calendar that never reached the server: it goes with it. */
  if (collection == NULL)
    return g_error_matches (local_error, CAIRN_STORE_ERROR, CAIRN_STORE_ERROR_NOT_FOUND)
           ? old_path == NULL || delete_object (self, old_path, NULL, cancellable, error)
           : (g_propagate_error (error, g_steal_pointer (&local_error)), FALSE);
  if (old_path != NULL)
    {
      path = g_strconcat (collection, strrchr (old_path, '/') + 1, NULL);
      if (g_str_equal (path, old_path))
        return *remote_id = g_steal_pointer (&path), TRUE;
      response = cairn_dav_client_move (self->client, old_path, path, cancellable, error);
      if (response == NULL)
        return FALSE;
      /* Gone from the source and present at the destination: moved by an
       * attempt whose answer was lost. */
      if (response->status == 404)
        {
          g_autoptr(CairnDavResponse) found = cairn_dav_client_send (self->client, "HEAD", path,
                                                                     NULL, NULL, NULL,
                                                                     CAIRN_DAV_IF_ANY, NULL,
                                                                     MAX_PROPERTIES_SIZE,
                                                                     cancellable, error);

          if (found == NULL)
            return FALSE;
          if (found->status == 200)
            response->status = 204;
        }
      if (SOUP_STATUS_IS_SUCCESSFUL (response->status))
        {
          *remote_id = g_steal_pointer (&path);
          *remote_revision = g_strdup (cairn_item_get_remote_revision (item));
          return TRUE;
        }
      if (response->status != 404 && response->status != 412 &&
          !cairn_dav_client_check_status (response, "MOVE", old_path, error))
        return FALSE;
    }
  /* Never on the server, gone from its source, or its name taken in the
   * destination: written there anew from the payload, if there is one;
   * an item removed since takes what an attempt to create it left. */
  if (cairn_item_get_part (item, payload_part (mime_type)) == NULL)
    return old_path != NULL ||
           remove_attempt (self, source, cairn_change_get_entity_id (change), mime_type,
                           cancellable, error);
  data = read_payload (self, item, &uid, cancellable, error);
  if (data == NULL || !create_object (self, collection, mime_type, data, uid,
                                      cairn_change_get_entity_id (change), remote_id,
                                      remote_revision, cancellable, error))
    return FALSE;
  return old_path == NULL || g_strcmp0 (old_path, *remote_id) == 0 ||
         delete_object (self, old_path, NULL, cancellable, error);
}

static gboolean
item_removed (CairnResource  *resource,
              CairnChange    *change,
              GCancellable   *cancellable,
              GError        **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  const char *path = cairn_change_get_remote_id (change);
  CairnItem *item = cairn_change_get_item (change);

  if (!ensure_password (self, cancellable, error))
    return FALSE;
  /* Never reported created: an interrupted creation may have left it. */
  if (path == NULL)
    return remove_attempt (self, cairn_change_get_collection_id (change),
                           cairn_change_get_entity_id (change), cairn_change_get_mime_type (change),
                           cancellable, error);
  return delete_object (self, path, item ? plain_etag (cairn_item_get_remote_revision (item))
                                         : NULL, cancellable, error);
}

/* Collections */

static char *
attribute_text (CairnCollection *collection,
                const char      *name)
{
  GBytes *value = cairn_collection_get_attribute (collection, name);
  gsize size;
  const char *data = value ? g_bytes_get_data (value, &size) : NULL;

  return data && g_utf8_validate_len (data, size, NULL) ? g_strndup (data, size) : NULL;
}

/* The properties a user sets: name, colour, description. */
static char *
set_properties (CairnCollection *collection)
{
  gboolean calendar = g_str_equal (collection_type (collection), CAIRN_DAV_CALENDAR_TYPE);
  g_autofree char *name = g_markup_escape_text (cairn_collection_get_name (collection), -1);
  g_autofree char *color = attribute_text (collection, "color");
  g_autofree char *description = attribute_text (collection, "description");
  GString *xml = g_string_new (NULL);

  g_string_append_printf (xml, "<D:displayname>%s</D:displayname>", name);
  if (color != NULL && calendar)
    {
      g_autofree char *escaped = g_markup_escape_text (color, -1);

      g_string_append_printf (xml, "<I:calendar-color>%s</I:calendar-color>", escaped);
    }
  if (description != NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (description, -1);

      g_string_append_printf (xml, calendar ? "<C:calendar-description>%s</C:calendar-description>"
                                            : "<A:addressbook-description>%s"
                                              "</A:addressbook-description>", escaped);
    }
  return g_string_free (xml, FALSE);
}

/* Sets @exists to whether the server has a collection at @path; fails
 * only when the server cannot be asked. A second attempt at creating
 * one meets the first, which servers refuse each in their own way: 405
 * for MKCOL (RFC 4918), 403 or 409 with DAV:resource-must-be-null for
 * MKCALENDAR (Radicale's is 409). */
static gboolean
collection_exists (CairnDavResource  *self,
                   const char        *path,
                   gboolean          *exists,
                   GCancellable      *cancellable,
                   GError           **error)
{
  g_autoptr(CairnDavResponse) response = request (self, "PROPFIND", path, "0",
                                                  XML_HEAD "<D:propfind " NAMESPACES "><D:prop>"
                                                  "<D:resourcetype/></D:prop></D:propfind>",
                                                  MAX_PROPERTIES_SIZE, cancellable, error);

  if (response == NULL)
    return FALSE;
  *exists = response->status == SOUP_STATUS_MULTI_STATUS;
  return TRUE;
}

static gboolean
collection_added (CairnResource  *resource,
                  CairnChange    *change,
                  char          **remote_id,
                  GCancellable   *cancellable,
                  GError        **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  CairnCollection *collection = cairn_change_get_collection (change);
  gboolean calendar = g_str_equal (collection_type (collection), CAIRN_DAV_CALENDAR_TYPE);
  g_autofree char *home = NULL;
  g_autofree char *path = NULL;
  g_autofree char *props = set_properties (collection);
  g_autofree char *body = NULL;
  g_autoptr(CairnDavResponse) response = NULL;
  gboolean exists = FALSE;

  if (!ensure_password (self, cancellable, error) || !discover_homes (self, cancellable, error))
    return FALSE;
  home = dup_home (self, calendar);
  if (home == NULL)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_NOT_SUPPORTED,
                        "The server has no %s home", calendar ? "calendar" : "address-book"),
           FALSE;
  /* Named after the collection's id: a second attempt meets the first. */
  path = g_strdup_printf ("%scairn-%" G_GUINT64_FORMAT "/", home,
                          cairn_change_get_entity_id (change));
  if (calendar)
    body = g_strdup_printf (XML_HEAD "<C:mkcalendar " NAMESPACES "><D:set><D:prop>%s</D:prop>"
                            "</D:set></C:mkcalendar>", props);
  else
    body = g_strdup_printf (XML_HEAD "<D:mkcol " NAMESPACES "><D:set><D:prop><D:resourcetype>"
                            "<D:collection/><A:addressbook/></D:resourcetype>%s</D:prop>"
                            "</D:set></D:mkcol>", props);
  response = request (self, calendar ? "MKCALENDAR" : "MKCOL", path, NULL, body,
                      MAX_PROPERTIES_SIZE, cancellable, error);
  if (response == NULL)
    return FALSE;
  if (SOUP_STATUS_IS_CLIENT_ERROR (response->status) &&
      cairn_resource_replay_is_retry (resource) &&
      !collection_exists (self, path, &exists, cancellable, error))
    return FALSE;
  if (!exists &&
      !cairn_dav_client_check_status (response, calendar ? "MKCALENDAR" : "MKCOL", path, error))
    return FALSE;
  *remote_id = g_steal_pointer (&path);
  return TRUE;
}

/* A rename or a new colour: PROPPATCH. DAV collections are not nested,
 * so a move changes nothing on the server. */
static gboolean
collection_changed (CairnResource       *resource,
                    CairnChange         *change,
                    const char * const  *parts,
                    char               **remote_id,
                    GCancellable        *cancellable,
                    GError             **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  CairnCollection *collection = cairn_change_get_collection (change);
  const char *path = cairn_collection_get_remote_id (collection);
  g_autofree char *props = set_properties (collection);
  g_autofree char *body = g_strdup_printf (XML_HEAD "<D:propertyupdate " NAMESPACES "><D:set>"
                                           "<D:prop>%s</D:prop></D:set></D:propertyupdate>",
                                           props);
  g_autoptr(CairnDavResponse) response = NULL;

  if (!ensure_password (self, cancellable, error))
    return FALSE;
  response = request (self, "PROPPATCH", path, NULL, body, MAX_PROPERTIES_SIZE, cancellable,
                      error);
  if (response == NULL || !cairn_dav_client_check_status (response, "PROPPATCH", path, error))
    return FALSE;
  *remote_id = g_strdup (path);
  return TRUE;
}

static gboolean
collection_removed (CairnResource  *resource,
                    CairnChange    *change,
                    GCancellable   *cancellable,
                    GError        **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (resource);
  const char *path = cairn_change_get_remote_id (change);

  if (path == NULL)
    return TRUE;
  return ensure_password (self, cancellable, error) &&
         delete_object (self, path, NULL, cancellable, error);
}

/* GObject */

static gboolean
cairn_dav_resource_setup (CairnAgent  *agent,
                          GError     **error)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (agent);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  g_autofree char *name = NULL;

  if (self->url == NULL || *self->url == '\0')
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_INVALID,
                        "No server: set the key url"), FALSE;
  g_clear_object (&self->client);
  self->client = cairn_dav_client_new (self->url, self->user, self->fingerprint,
                                       self->max_object_size, error);
  if (self->client == NULL)
    return FALSE;
  name = g_strconcat (cairn_agent_get_id (agent), ".state", NULL);
  g_free (self->state_path);
  self->state_path = g_build_filename (g_get_user_data_dir (), "cairn", "dav", name, NULL);
  /* Replay writes the server's bytes back: it needs the payload. */
  cairn_fetch_scope_add_part (scope, CAIRN_DAV_PART_ICALENDAR);
  cairn_fetch_scope_add_part (scope, CAIRN_DAV_PART_VCARD);
  cairn_monitor_set_fetch_scope (CAIRN_MONITOR (cairn_agent_get_recorder (agent)), scope);
  return TRUE;
}

static void
cairn_dav_resource_finalize (GObject *object)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (object);

  g_free (self->url);
  g_free (self->user);
  g_free (self->fingerprint);
  g_free (self->services);
  g_clear_object (&self->client);
  g_free (self->calendar_home);
  g_free (self->addressbook_home);
  g_free (self->state_path);
  g_hash_table_unref (self->listed);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (cairn_dav_resource_parent_class)->finalize (object);
}

static char **
string_field (CairnDavResource *self,
              guint             prop_id)
{
  switch (prop_id)
    {
    case PROP_URL:
      return &self->url;
    case PROP_USER:
      return &self->user;
    case PROP_FINGERPRINT:
      return &self->fingerprint;
    case PROP_SERVICES:
      return &self->services;
    default:
      return NULL;
    }
}

static void
cairn_dav_resource_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (object);
  char **field = string_field (self, prop_id);

  if (field != NULL)
    g_value_set_string (value, *field);
  else if (prop_id == PROP_MAX_OBJECT_SIZE)
    g_value_set_uint64 (value, self->max_object_size);
  else if (prop_id == PROP_MULTIGET_BATCH)
    g_value_set_uint (value, self->multiget_batch);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
cairn_dav_resource_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  CairnDavResource *self = CAIRN_DAV_RESOURCE (object);
  char **field = string_field (self, prop_id);

  if (field != NULL)
    {
      if (g_strcmp0 (*field, g_value_get_string (value)) == 0)
        return;
      g_free (*field);
      *field = g_value_dup_string (value);
    }
  else if (prop_id == PROP_MAX_OBJECT_SIZE)
    {
      if (self->max_object_size == g_value_get_uint64 (value))
        return;
      self->max_object_size = g_value_get_uint64 (value);
    }
  else if (prop_id == PROP_MULTIGET_BATCH)
    {
      if (self->multiget_batch == g_value_get_uint (value))
        return;
      self->multiget_batch = g_value_get_uint (value);
    }
  else
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  g_object_notify_by_pspec (object, pspec);
}

static void
cairn_dav_resource_class_init (CairnDavResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CairnResourceClass *resource_class = CAIRN_RESOURCE_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  /* libxml2 must be set up once before threads use it; libical must
   * never abort the process over a server's bad data. */
  xmlInitParser ();
  icalerror_set_errors_are_fatal (0);

  object_class->finalize = cairn_dav_resource_finalize;
  object_class->get_property = cairn_dav_resource_get_property;
  object_class->set_property = cairn_dav_resource_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_dav_resource_setup;
  resource_class->retrieve_collections_sync = retrieve_collections_sync;
  resource_class->retrieve_items_sync = retrieve_items_sync;
  resource_class->retrieve_item_sync = retrieve_item_sync;
  resource_class->replay_item_added_sync = item_added;
  resource_class->replay_item_changed_sync = item_changed;
  resource_class->replay_flags_changed_sync = flags_changed;
  resource_class->replay_item_moved_sync = item_moved;
  resource_class->replay_item_removed_sync = item_removed;
  resource_class->replay_collection_added_sync = collection_added;
  resource_class->replay_collection_changed_sync = collection_changed;
  resource_class->replay_collection_removed_sync = collection_removed;

  /* The key `url`: the server's root, or any URL on it (a principal, a
   * calendar home); discovery starts there. */
  properties[PROP_URL] = g_param_spec_string ("url", NULL, NULL, NULL, flags);
  /* The key `user`; the password is the instance's secret `password`. */
  properties[PROP_USER] = g_param_spec_string ("user", NULL, NULL, NULL, flags);
  /* The key `fingerprint`: the SHA-256 of a certificate the system does
   * not trust, accepted all the same (a self-signed home server). */
  properties[PROP_FINGERPRINT] = g_param_spec_string ("fingerprint", NULL, NULL, NULL, flags);
  /* The key `services`: `caldav`, `carddav` or both (the default). */
  properties[PROP_SERVICES] = g_param_spec_string ("services", NULL, NULL, NULL, flags);
  /* The key `max-object-size`: larger objects are reported, not read. */
  properties[PROP_MAX_OBJECT_SIZE] =
    g_param_spec_uint64 ("max-object-size", NULL, NULL, 1024, G_MAXINT32,
                         DEFAULT_MAX_OBJECT_SIZE, flags);
  /* The key `multiget-batch`: objects fetched per multiget request. */
  properties[PROP_MULTIGET_BATCH] =
    g_param_spec_uint ("multiget-batch", NULL, NULL, 1, 1000, DEFAULT_MULTIGET_BATCH, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_dav_resource_init (CairnDavResource *self)
{
  g_mutex_init (&self->lock);
  self->listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) listed_free);
  self->max_object_size = DEFAULT_MAX_OBJECT_SIZE;
  self->multiget_batch = DEFAULT_MULTIGET_BATCH;
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (cairn_dav_resource_get_type ());
