/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <glib.h>

/* Fails the running test with @error's message when @error is set. */
#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) ? (error)->message : "")

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
