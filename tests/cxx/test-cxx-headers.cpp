/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every public umbrella header compiles as C++ and its functions link:
 * applications and Qt or GTKmm front ends include them from C++, where
 * names such as `export`, `class`, `new` or `template` are reserved. */
#include <cairn/cairn.h>
#include <cairn-scheduler/cairn-scheduler.h>
#include <cairn-test/cairn-test.h>

int
main ()
{
  g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");

  cairn_flags_add (cairn_item_get_flags (item), CAIRN_FLAG_SEEN);
  if (!cairn_flags_contains (cairn_item_get_flags (item), CAIRN_FLAG_SEEN))
    return 1;
  return CAIRN_IS_ITEM (item) && CAIRN_TYPE_TEST_ENVIRONMENT != G_TYPE_INVALID ? 0 : 1;
}
