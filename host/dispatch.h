// Recording kernel runs: the one path by which both `vkllm check` and the model scheduler put a
// kernel on the device, from the kernel's own launch description.
#ifndef VKLLM_DISPATCH_H
#define VKLLM_DISPATCH_H

#include "host/kernel.h"
#include "runtime/command.h"

// Pipelines by shader and specialization constants, created on first use.
typedef struct vkl_pipeline_set vkl_pipeline_set;

vkl_status vkl_pipeline_set_create(vkl_device *device, vkl_pipeline_set **out);
void vkl_pipeline_set_destroy(vkl_pipeline_set *set);

// Records the `count` dispatches of one run of case `c` (barriers between them), tensor i bound
// to tensors[i]; `launches` is what c->kernel->launch produced, possibly adjusted by the caller.
vkl_status vkl_record_launches(vkl_cmd *cmd, vkl_pipeline_set *set, const vkl_case *c, const vkl_binding *tensors,
                               const vkl_launch *launches, uint32_t count);
// The same with the kernel's own launch description.
vkl_status vkl_record_kernel(vkl_cmd *cmd, vkl_pipeline_set *set, const vkl_case *c, const vkl_binding *tensors);

// A case of kernel `kernel` and variant `variant` (by name) with the given dims; false when
// either name is unknown.
bool vkl_case_make(vkl_case *c, const char *kernel, const char *variant, const uint32_t *dims);

#endif
