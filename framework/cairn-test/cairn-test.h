/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define __CAIRN_TEST_H_INSIDE__

#include <cairn/cairn.h>
#include <cairn-test/cairn-test-enum-types.h>
#include <cairn-test/cairn-test-backend.h>
#include <cairn-test/cairn-test-control.h>
#include <cairn-test/cairn-test-environment.h>
#include <cairn-test/cairn-test-maildir.h>
#include <cairn-test/cairn-test-replay.h>
#include <cairn-test/cairn-test-resource.h>
#include <cairn-test/cairn-test-snapshot.h>

#undef __CAIRN_TEST_H_INSIDE__
