/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <glib.h>

/* One row of a suite table: the test case (group) name and the test. */
typedef struct
{
  const char *tcase;
  const TTest *test;
} CairnTestCase;

Suite *cairn_test_suite_new (const char          *name,
                             const CairnTestCase *cases,
                             gsize                n_cases,
                             SFun                 setup,
                             SFun                 teardown,
                             double               timeout);
int    cairn_test_suite_run (Suite               *suite);
