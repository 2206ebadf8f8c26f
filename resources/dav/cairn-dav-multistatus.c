/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WebDAV multistatus answer (RFC 4918 §13) of PROPFIND, REPORT
 * sync-collection (RFC 6578) and the multigets (RFC 4791, RFC 6352),
 * read with libxml2 without the network and without entity expansion:
 * the body comes from the server and may be anything. */
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cairn/cairn.h>

#include "cairn-dav-multistatus-private.h"

void
cairn_dav_entry_free (CairnDavEntry *entry)
{
  g_free (entry->href);
  g_free (entry->etag);
  g_free (entry->displayname);
  g_free (entry->color);
  g_free (entry->description);
  g_free (entry->ctag);
  g_free (entry->lastmodified);
  g_free (entry->sync_token);
  g_strfreev (entry->components);
  g_free (entry->principal);
  g_strfreev (entry->calendar_homes);
  g_strfreev (entry->addressbook_homes);
  g_clear_pointer (&entry->data, g_bytes_unref);
  g_free (entry);
}

static gboolean
is (xmlNode    *node,
    const char *ns,
    const char *name)
{
  return node->type == XML_ELEMENT_NODE && node->ns != NULL &&
         g_strcmp0 ((const char *) node->ns->href, ns) == 0 &&
         g_strcmp0 ((const char *) node->name, name) == 0;
}

static xmlNode *
child (xmlNode    *node,
       const char *ns,
       const char *name)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (is (c, ns, name))
      return c;
  return NULL;
}

/* The text of @node, trimmed; NULL for none or text that is not UTF-8. */
static char *
text_of (xmlNode *node)
{
  g_autofree char *text = NULL;
  xmlChar *content;

  if (node == NULL)
    return NULL;
  content = xmlNodeGetContent (node);
  text = g_strdup ((const char *) content);
  xmlFree (content);
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return NULL;
  g_strstrip (text);
  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

/* "HTTP/1.1 404 Not Found" → 404; 0 when it is not a status line. */
static guint
parse_status (xmlNode *node)
{
  g_autofree char *text = text_of (node);
  g_auto(GStrv) words = text ? g_strsplit (text, " ", 3) : NULL;
  guint64 status = 0;

  if (words == NULL || words[0] == NULL || words[1] == NULL ||
      !g_str_has_prefix (words[0], "HTTP/") ||
      !g_ascii_string_to_unsigned (words[1], 10, 100, 599, &status, NULL))
    return 0;
  return status;
}

/* The hrefs inside @node (a home set may list several). */
static char **
hrefs_of (xmlNode *node)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (is (c, CAIRN_DAV_NS, "href"))
      {
        g_autofree char *href = text_of (c);

        if (href != NULL)
          g_strv_builder_add (builder, href);
      }
  return g_strv_builder_end (builder);
}

/* XML turns every line end into LF (XML 1.0 §2.11), and iCalendar and
 * vCard end every line with CRLF (RFC 5545 §3.1, RFC 6350 §3.2): every
 * lone LF was a CRLF on the server. */
static GBytes *
data_of (xmlNode *node)
{
  xmlChar *content = xmlNodeGetContent (node);
  GString *data = g_string_sized_new (content ? strlen ((char *) content) + 64 : 0);

  for (const char *p = (const char *) content; p != NULL && *p != '\0'; p++)
    {
      if (*p == '\n' && (p == (const char *) content || p[-1] != '\r'))
        g_string_append_c (data, '\r');
      g_string_append_c (data, *p);
    }
  xmlFree (content);
  return g_string_free_to_bytes (data);
}

static void
read_prop (CairnDavEntry *entry,
           xmlNode       *prop)
{
  for (xmlNode *p = prop->children; p != NULL; p = p->next)
    {
      if (p->type != XML_ELEMENT_NODE)
        continue;
      if (is (p, CAIRN_DAV_NS, "getetag"))
        entry->etag = text_of (p);
      else if (is (p, CAIRN_DAV_NS, "getcontentlength"))
        {
          g_autofree char *text = text_of (p);
          guint64 length;

          if (text && g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &length, NULL))
            entry->length = length;
        }
      else if (is (p, CAIRN_DAV_NS, "resourcetype"))
        {
          entry->collection = child (p, CAIRN_DAV_NS, "collection") != NULL;
          entry->calendar = child (p, CAIRN_CALDAV_NS, "calendar") != NULL;
          entry->addressbook = child (p, CAIRN_CARDDAV_NS, "addressbook") != NULL;
        }
      else if (is (p, CAIRN_DAV_NS, "displayname"))
        entry->displayname = text_of (p);
      else if (is (p, CAIRN_APPLE_ICAL_NS, "calendar-color"))
        entry->color = text_of (p);
      else if (is (p, CAIRN_CALDAV_NS, "calendar-description") ||
               is (p, CAIRN_CARDDAV_NS, "addressbook-description"))
        entry->description = text_of (p);
      else if (is (p, CAIRN_CALSERVER_NS, "getctag"))
        entry->ctag = text_of (p);
      else if (is (p, CAIRN_DAV_NS, "getlastmodified"))
        entry->lastmodified = text_of (p);
      else if (is (p, CAIRN_DAV_NS, "sync-token"))
        entry->sync_token = text_of (p);
      else if (is (p, CAIRN_CALDAV_NS, "supported-calendar-component-set"))
        {
          g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

          for (xmlNode *c = p->children; c != NULL; c = c->next)
            if (is (c, CAIRN_CALDAV_NS, "comp"))
              {
                xmlChar *name = xmlGetProp (c, (const xmlChar *) "name");

                if (name != NULL && g_utf8_validate ((char *) name, -1, NULL))
                  g_strv_builder_add (builder, (char *) name);
                xmlFree (name);
              }
          entry->components = g_strv_builder_end (builder);
        }
      else if (is (p, CAIRN_DAV_NS, "current-user-principal"))
        entry->principal = text_of (child (p, CAIRN_DAV_NS, "href"));
      else if (is (p, CAIRN_CALDAV_NS, "calendar-home-set"))
        entry->calendar_homes = hrefs_of (p);
      else if (is (p, CAIRN_CARDDAV_NS, "addressbook-home-set"))
        entry->addressbook_homes = hrefs_of (p);
      else if (is (p, CAIRN_CALDAV_NS, "calendar-data") ||
               is (p, CAIRN_CARDDAV_NS, "address-data"))
        {
          g_clear_pointer (&entry->data, g_bytes_unref);
          entry->data = data_of (p);
        }
    }
}

static CairnDavEntry *
read_response (xmlNode *response)
{
  g_autoptr(CairnDavEntry) entry = g_new0 (CairnDavEntry, 1);
  xmlNode *status = child (response, CAIRN_DAV_NS, "status");

  entry->href = text_of (child (response, CAIRN_DAV_NS, "href"));
  entry->length = -1;
  if (entry->href == NULL)
    return NULL;
  entry->status = status ? parse_status (status) : 0;
  for (xmlNode *c = response->children; c != NULL; c = c->next)
    if (is (c, CAIRN_DAV_NS, "propstat") &&
        parse_status (child (c, CAIRN_DAV_NS, "status")) == 200)
      {
        xmlNode *prop = child (c, CAIRN_DAV_NS, "prop");

        if (prop != NULL)
          read_prop (entry, prop);
        if (entry->status == 0)
          entry->status = 200;
      }
  return g_steal_pointer (&entry);
}

/* The responses of a multistatus, and its sync-token when @sync_token is
 * given. A response without an href is left out; a body that is not a
 * multistatus is an error. */
GPtrArray *
cairn_dav_multistatus_parse (GBytes  *body,
                             char   **sync_token,
                             GError **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                                 cairn_dav_entry_free);
  gsize size;
  const char *data = g_bytes_get_data (body, &size);
  xmlDoc *doc;
  xmlNode *root;

  if (size > G_MAXINT)
    return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                        "The server's multistatus answer is too large"), NULL;
  doc = xmlReadMemory (data ? data : "", size, "multistatus.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  root = doc ? xmlDocGetRootElement (doc) : NULL;
  /* A DTD has no business in a DAV answer, and its entities would be
   * expanded by every read of the text (billion laughs, external files). */
  if (root == NULL || doc->intSubset != NULL || doc->extSubset != NULL ||
      !is (root, CAIRN_DAV_NS, "multistatus"))
    {
      g_clear_pointer (&doc, xmlFreeDoc);
      return g_set_error (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT,
                          "The server's answer is not a WebDAV multistatus"), NULL;
    }
  for (xmlNode *c = root->children; c != NULL; c = c->next)
    if (is (c, CAIRN_DAV_NS, "response"))
      {
        CairnDavEntry *entry = read_response (c);

        if (entry != NULL)
          g_ptr_array_add (entries, entry);
      }
    else if (sync_token != NULL && is (c, CAIRN_DAV_NS, "sync-token"))
      {
        g_free (*sync_token);
        *sync_token = text_of (c);
      }
  xmlFreeDoc (doc);
  return g_steal_pointer (&entries);
}
