/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the resource reads in a calendar object or a vCard: its UID (the
 * item's GID) and a summary for lists. The payload itself is stored as
 * the server sent it; these parsers only look. iCalendar goes through
 * libical; vCard (which Debian 12's libical 3.0 does not read) through
 * a small reader of content lines (RFC 6350 §3.3). Both meet whatever a
 * server sends: anything they cannot read is an error, never a guess. */
#include <string.h>
#include <libical/ical.h>

#include <cairn/cairn.h>

#include "cairn-dav-object-private.h"

static gboolean
invalid (GError     **error,
         const char  *message)
{
  g_set_error_literal (error, CAIRN_RESOURCE_ERROR, CAIRN_RESOURCE_ERROR_PERMANENT, message);
  return FALSE;
}

/* DTSTART's value, with its TZID when it has one: "20260105T090000;Europe/Berlin". */
static char *
time_of (icalcomponent *component,
         icalproperty_kind kind)
{
  icalproperty *property = icalcomponent_get_first_property (component, kind);
  icalparameter *tzid;
  char *value;
  g_autofree char *text = NULL;

  if (property == NULL)
    return NULL;
  value = icalproperty_get_value_as_string_r (property);
  if (value == NULL)
    return NULL;
  tzid = icalproperty_get_first_parameter (property, ICAL_TZID_PARAMETER);
  text = tzid ? g_strdup_printf ("%s;%s", value, icalparameter_get_tzid (tzid)) : g_strdup (value);
  icalmemory_free_buffer (value);
  return g_utf8_validate (text, -1, NULL) ? g_steal_pointer (&text) : NULL;
}

static void
set_text (GKeyFile   *summary,
          const char *key,
          const char *value)
{
  if (value != NULL && *value != '\0' && g_utf8_validate (value, -1, NULL))
    g_key_file_set_string (summary, "Summary", key, value);
}

static gboolean
parse_calendar (const char  *text,
                char       **uid,
                GKeyFile    *summary,
                GError     **error)
{
  icalcomponent *calendar = icalparser_parse_string (text);
  icalcomponent *main = NULL;
  icalcomponent_kind kinds[] = { ICAL_VEVENT_COMPONENT, ICAL_VTODO_COMPONENT,
                                 ICAL_VJOURNAL_COMPONENT };
  gboolean recurring = FALSE;
  gboolean ok = FALSE;

  if (calendar == NULL || icalcomponent_isa (calendar) != ICAL_VCALENDAR_COMPONENT)
    ok = invalid (error, "not an iCalendar object");
  else if (icalcomponent_count_errors (calendar) > 0)
    ok = invalid (error, "iCalendar that does not parse");
  else
    {
      /* The master: the one component without RECURRENCE-ID; all its
       * exceptions share its UID (RFC 4791 §4.1). */
      for (guint k = 0; k < G_N_ELEMENTS (kinds) && main == NULL; k++)
        for (icalcomponent *c = icalcomponent_get_first_component (calendar, kinds[k]);
             c != NULL; c = icalcomponent_get_next_component (calendar, kinds[k]))
          {
            if (main == NULL || icalcomponent_get_first_property (main,
                                                                  ICAL_RECURRENCEID_PROPERTY))
              main = c;
            recurring |= icalcomponent_get_first_property (c, ICAL_RRULE_PROPERTY) != NULL ||
                         icalcomponent_get_first_property (c, ICAL_RDATE_PROPERTY) != NULL ||
                         icalcomponent_get_first_property (c, ICAL_RECURRENCEID_PROPERTY) != NULL;
          }
      if (main == NULL)
        ok = invalid (error, "an iCalendar object without an event, task or journal entry");
      else if (icalcomponent_get_uid (main) == NULL || *icalcomponent_get_uid (main) == '\0' ||
               !g_utf8_validate (icalcomponent_get_uid (main), -1, NULL))
        ok = invalid (error, "an iCalendar object without UID");
      else
        {
          g_autofree char *start = time_of (main, ICAL_DTSTART_PROPERTY);
          g_autofree char *end = time_of (main, ICAL_DTEND_PROPERTY);

          if (end == NULL)
            end = time_of (main, ICAL_DUE_PROPERTY);
          *uid = g_strdup (icalcomponent_get_uid (main));
          set_text (summary, "component", icalcomponent_kind_to_string (icalcomponent_isa (main)));
          set_text (summary, "summary", icalcomponent_get_summary (main));
          set_text (summary, "location", icalcomponent_get_location (main));
          set_text (summary, "start", start);
          set_text (summary, "end", end);
          g_key_file_set_boolean (summary, "Summary", "recurring", recurring);
          ok = TRUE;
        }
    }
  g_clear_pointer (&calendar, icalcomponent_free);
  return ok;
}

/* A vCard value's escapes (RFC 6350 §3.4) undone. */
static char *
unescape (const char *value)
{
  GString *text = g_string_new (NULL);

  for (const char *p = value; *p != '\0'; p++)
    if (*p == '\\' && p[1] != '\0')
      {
        p++;
        g_string_append_c (text, *p == 'n' || *p == 'N' ? '\n' : *p);
      }
    else
      g_string_append_c (text, *p);
  return g_string_free (text, FALSE);
}

static gboolean
parse_vcard (const char  *text,
             char       **uid,
             GKeyFile    *summary,
             GError     **error)
{
  g_autoptr(GString) unfolded = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GStrvBuilder) emails = g_strv_builder_new ();
  g_auto(GStrv) email_list = NULL;
  g_autofree char *found_uid = NULL;
  g_autofree char *name = NULL;
  guint begins = 0, ends = 0;

  /* Folded lines continue after a line end and one space or tab. */
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\r' && p[1] == '\n')
        continue;
      if (*p == '\n' && (p[1] == ' ' || p[1] == '\t'))
        {
          p++;
          continue;
        }
      g_string_append_c (unfolded, *p);
    }
  lines = g_strsplit (unfolded->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');
      g_autofree char *head = NULL;
      char *property;
      char *dot;

      if (lines[i][0] == '\0')
        continue;
      if (colon == NULL)
        return invalid (error, "a vCard line without a colon");
      head = g_ascii_strup (lines[i], colon - lines[i]);
      property = head;
      /* A group prefix ("item1.EMAIL") and parameters (";TYPE=work") are
       * not part of the name. */
      if ((dot = strchr (property, '.')) != NULL && (strchr (property, ';') == NULL ||
                                                     dot < strchr (property, ';')))
        property = dot + 1;
      property[strcspn (property, ";")] = '\0';
      if (g_str_equal (property, "BEGIN") && g_ascii_strcasecmp (colon + 1, "VCARD") == 0)
        begins++;
      else if (g_str_equal (property, "END") && g_ascii_strcasecmp (colon + 1, "VCARD") == 0)
        ends++;
      else if (begins == 0 || ends > 0)
        return invalid (error, "text outside BEGIN:VCARD … END:VCARD");
      else if (g_str_equal (property, "UID") && found_uid == NULL)
        found_uid = g_strdup (colon + 1);
      else if (g_str_equal (property, "FN") && name == NULL)
        name = unescape (colon + 1);
      else if (g_str_equal (property, "EMAIL"))
        {
          g_autofree char *email = unescape (colon + 1);

          g_strv_builder_add (emails, email);
        }
    }
  if (begins != 1 || ends != 1)
    return invalid (error, "not one vCard");
  g_strstrip (found_uid ? found_uid : (found_uid = g_strdup ("")));
  if (*found_uid == '\0')
    return invalid (error, "a vCard without UID");
  set_text (summary, "name", name);
  email_list = g_strv_builder_end (emails);
  if (email_list[0] != NULL)
    g_key_file_set_string_list (summary, "Summary", "emails", (const char * const *) email_list,
                                g_strv_length (email_list));
  *uid = g_steal_pointer (&found_uid);
  return TRUE;
}

/* Reads the UID and a summary of one object the server sent. Fails,
 * with a message that says why, for text that is not UTF-8, not one
 * object of @mime_type, or without UID. */
gboolean
cairn_dav_object_parse (const char  *mime_type,
                        GBytes      *data,
                        char       **uid,
                        GBytes     **summary,
                        GError     **error)
{
  g_autoptr(GKeyFile) keys = g_key_file_new ();
  g_autofree char *text = NULL;
  gsize size;
  const char *bytes = g_bytes_get_data (data, &size);
  char *summary_text;
  gsize summary_size;

  if (size == 0 || memchr (bytes, '\0', size) != NULL || !g_utf8_validate_len (bytes, size, NULL))
    return invalid (error, "empty, binary or not UTF-8");
  text = g_strndup (bytes, size);
  if (!(g_str_equal (mime_type, CAIRN_DAV_CALENDAR_TYPE) ? parse_calendar (text, uid, keys, error)
                                                          : parse_vcard (text, uid, keys, error)))
    return FALSE;
  summary_text = g_key_file_to_data (keys, &summary_size, NULL);
  *summary = g_bytes_new_take (summary_text, summary_size);
  return TRUE;
}

/* The object with another UID: the copy that keeps both versions of an
 * object edited here and on the server, which cannot share a UID in one
 * collection (RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1). */
GBytes *
cairn_dav_object_set_uid (const char  *mime_type,
                          GBytes      *data,
                          const char  *uid,
                          GError     **error)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
  g_autoptr(GString) copy = g_string_new (NULL);
  icalcomponent *calendar;
  icalcomponent_kind kinds[] = { ICAL_VEVENT_COMPONENT, ICAL_VTODO_COMPONENT,
                                 ICAL_VJOURNAL_COMPONENT };
  char *serialized;

  if (g_str_equal (mime_type, CAIRN_DAV_VCARD_TYPE))
    {
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (g_ascii_strncasecmp (lines[i], "UID:", 4) == 0)
            g_string_append_printf (copy, "UID:%s\r", uid);
          else
            g_string_append (copy, lines[i]);
          if (lines[i + 1] != NULL)
            g_string_append_c (copy, '\n');
        }
      return g_string_free_to_bytes (g_steal_pointer (&copy));
    }
  calendar = icalparser_parse_string (text);
  if (calendar == NULL || icalcomponent_isa (calendar) != ICAL_VCALENDAR_COMPONENT)
    {
      g_clear_pointer (&calendar, icalcomponent_free);
      return invalid (error, "not an iCalendar object"), NULL;
    }
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (icalcomponent *c = icalcomponent_get_first_component (calendar, kinds[k]); c != NULL;
         c = icalcomponent_get_next_component (calendar, kinds[k]))
      icalcomponent_set_uid (c, uid);
  serialized = icalcomponent_as_ical_string_r (calendar);
  g_string_append (copy, serialized);
  icalmemory_free_buffer (serialized);
  icalcomponent_free (calendar);
  return g_string_free_to_bytes (g_steal_pointer (&copy));
}
