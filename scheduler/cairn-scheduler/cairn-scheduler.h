/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define __CAIRN_SCHEDULER_H_INSIDE__

#include <cairn-scheduler/cairn-scheduler-version-macros.h>
#include <cairn-scheduler/cairn-scheduler-version.h>
#include <cairn-scheduler/cairn-scheduler-types.h>
#include <cairn-scheduler/cairn-scheduler-enum-types.h>
#include <cairn-scheduler/cairn-clock.h>
#include <cairn-scheduler/cairn-system-clock.h>
#include <cairn-scheduler/cairn-fake-clock.h>
#include <cairn-scheduler/cairn-scheduler-task.h>
#include <cairn-scheduler/cairn-scheduler-object.h>

#undef __CAIRN_SCHEDULER_H_INSIDE__
