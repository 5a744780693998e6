#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding row lookup, one invocation per output element.
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant texel_f32 -DWEIGHT_TEXEL
//! variant texel_f16 -DWEIGHT_TEXEL -DWEIGHT_F16
#include "embedding.h"
#include "grid.glsl"

layout(local_size_x = EMBEDDING_WG) in;
layout(binding = 0) readonly buffer Ids { uint ids[]; };
#include "weights.glsl"
layout(binding = 2) writeonly buffer Y { float y[]; };
layout(binding = 3) buffer Status { uint status[]; };

void main()
{
    uint item = grid_index(pc.groups_x, EMBEDDING_WG);
    if (item >= pc.M * pc.D) return;
    uint m = item / pc.D, j = item % pc.D, id = ids[m];
    if (id >= pc.V) {
        y[item] = 0.0;
        if (j == 0u) atomicAdd(status[0], 1u);
        return;
    }
    y[item] = weight_at(id * pc.D + j);
}
