/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cairn-test-suite.h"

/* Builds a suite from a table; consecutive rows with the same case name
 * share one TCase with the checked fixture and the timeout. */
Suite *
cairn_test_suite_new (const char          *name,
                      const CairnTestCase *cases,
                      gsize                n_cases,
                      SFun                 setup,
                      SFun                 teardown,
                      double               timeout)
{
  Suite *suite = suite_create (name);
  TCase *tcase = NULL;
  const char *current = NULL;

  for (gsize i = 0; i < n_cases; i++)
    {
      if (g_strcmp0 (current, cases[i].tcase) != 0)
        {
          current = cases[i].tcase;
          tcase = tcase_create (current);
          tcase_add_checked_fixture (tcase, setup, teardown);
          tcase_set_timeout (tcase, timeout);
          suite_add_tcase (suite, tcase);
        }
      _tcase_add_test (tcase, cases[i].test, 0, 0, 0, 1);
    }

  return suite;
}

/* Runs @suite and returns the process exit status. */
int
cairn_test_suite_run (Suite *suite)
{
  SRunner *runner = srunner_create (suite);
  int failed;

  srunner_run_all (runner, CK_NORMAL);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);

  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
