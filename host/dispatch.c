#include "host/dispatch.h"

#include <stb/stb_ds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vkl_pipeline_set {
    vkl_device *device;
    struct { char *key; vkl_pipeline value; } *pipelines;  // stb_ds map: "shader#spec,..." -> pipeline
};

vkl_status vkl_pipeline_set_create(vkl_device *device, vkl_pipeline_set **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return VKL_ERR_OUT_OF_MEMORY;
    (*out)->device = device;
    sh_new_strdup((*out)->pipelines);
    return VKL_OK;
}

void vkl_pipeline_set_destroy(vkl_pipeline_set *set)
{
    if (!set) return;
    for (ptrdiff_t i = 0; i < shlen(set->pipelines); i++) vkl_pipeline_destroy(set->device, &set->pipelines[i].value);
    shfree(set->pipelines);
    free(set);
}

static vkl_status get_pipeline(vkl_pipeline_set *set, const char *shader, uint32_t binding_count,
                               uint32_t texel_mask, const vkl_launch *launch, const vkl_pipeline **out)
{
    char key[160];
    int n = snprintf(key, sizeof key, "%s/%x", shader, texel_mask);
    for (uint32_t i = 0; i < launch->spec_count && n > 0 && (size_t)n < sizeof key; i++)
        n += snprintf(key + n, sizeof key - (size_t)n, "%c%u", i ? ',' : '#', launch->spec[i]);
    ptrdiff_t i = shgeti(set->pipelines, key);
    if (i < 0) {
        vkl_pipeline_desc desc = { .shader = shader, .binding_count = binding_count, .texel_mask = texel_mask,
                                   .push_size = launch->push_size, .spec_count = launch->spec_count };
        memcpy(desc.spec_values, launch->spec, launch->spec_count * sizeof launch->spec[0]);
        vkl_pipeline pipeline;
        VKL_TRY(vkl_pipeline_create(set->device, &desc, &pipeline));
        shput(set->pipelines, key, pipeline);
        i = shgeti(set->pipelines, key);
    }
    *out = &set->pipelines[i].value;
    return VKL_OK;
}

vkl_status vkl_record_launches(vkl_cmd *cmd, vkl_pipeline_set *set, const vkl_case *c, const vkl_binding *tensors,
                               const vkl_launch *launches, uint32_t count)
{
    for (uint32_t d = 0; d < count && d < VKL_MAX_DISPATCHES; d++) {
        const vkl_launch *l = &launches[d];
        const vkl_variant *v = &c->kernel->variants[c->variant];
        const char *shader = l->shader ? l->shader : v->shader;
        uint32_t texel_mask = l->shader ? l->texel_mask : v->texel_mask;
        uint32_t n = l->binding_count ? l->binding_count : c->kernel->tensor_count;
        vkl_launch filled = *l;
        if (l->spec0_subgroup_min) {
            filled.spec[0] = set->device->info->subgroup_min;
            if (filled.spec_count == 0) filled.spec_count = 1;
        }
        const vkl_pipeline *pipeline;
        VKL_TRY(get_pipeline(set, shader, n, texel_mask, &filled, &pipeline));
        vkl_binding bindings[VKL_MAX_BINDINGS];
        for (uint32_t b = 0; b < n && b < VKL_MAX_BINDINGS; b++) bindings[b] = tensors[l->binding_count ? l->bindings[b] : b];
        if (d) vkl_cmd_barrier(cmd);
        VKL_TRY(vkl_cmd_dispatch(cmd, pipeline, bindings, l->push, l->push_size, l->groups));
    }
    return VKL_OK;
}

vkl_status vkl_record_kernel(vkl_cmd *cmd, vkl_pipeline_set *set, const vkl_case *c, const vkl_binding *tensors)
{
    vkl_launch launches[VKL_MAX_DISPATCHES];
    memset(launches, 0, sizeof launches);
    uint32_t n = c->kernel->launch(c, launches);
    return vkl_record_launches(cmd, set, c, tensors, launches, n);
}

bool vkl_case_make(vkl_case *c, const char *kernel, const char *variant, const uint32_t *dims)
{
    for (uint32_t k = 0; k < vkl_kernel_count; k++) {
        const vkl_kernel *kn = vkl_kernels[k];
        if (strcmp(kn->name, kernel) != 0) continue;
        for (uint32_t v = 0; v < kn->variant_count; v++) {
            if (strcmp(kn->variants[v].name, variant) != 0) continue;
            vkl_case *list = NULL;
            vkl_case_add(&list, kn, v, dims);
            *c = list[0];
            arrfree(list);
            return true;
        }
    }
    vkl_log_error("no kernel %s with variant %s", kernel, variant);
    return false;
}
