#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Embedding row lookup, one invocation per output element; the texel variants, where rows
// fill whole 16-byte texels of the table (D % 4 == 0 for f32, D % 8 == 0 for f16), one
// invocation per texel, written as whole vec4s (llvmpipe stores lane by lane, so fewer,
// wider stores: the host launches M * D / TEXEL_VALUES invocations then).
//! variant f32
//! variant f16 -DWEIGHT_F16
//! variant texel_f32 -DWEIGHT_TEXEL
//! variant texel_f16 -DWEIGHT_TEXEL -DWEIGHT_F16
//! variant {fmt}
//! variant texel_{fmt} -DWEIGHT_TEXEL
// {fmt}: quantized tables (shaders/weight_format.glsl, D a multiple of the format's block), one
// invocation per unit of FORMAT_UNIT values, dequantized and written as vec4s.
#include "embedding.h"
#include "grid.glsl"

layout(local_size_x = EMBEDDING_WG) in;
layout(binding = 0) readonly buffer Ids { uint ids[]; };
#include "weights.glsl"
layout(binding = 2) writeonly buffer Y { float y[]; };
layout(binding = 3) buffer Status { uint status[]; };

#if defined(WEIGHT_QUANT)
layout(binding = 2) writeonly buffer Y4 { vec4 y4[]; };

void main()
{
    uint item = grid_index(pc.groups_x, EMBEDDING_WG), units = pc.D / FORMAT_UNIT;
    if (item >= pc.M * units) return;
    uint m = item / units, i = item % units, id = ids[m], at = (m * pc.D + i * FORMAT_UNIT) / 4u;
    if (id >= pc.V) {  // an id past the table gives a zero row
        [[unroll]] for (uint j = 0; j < FORMAT_UNIT / 4u; j++) y4[at + j] = vec4(0.0);
        if (i == 0u) atomicAdd(status[0], 1u);
        return;
    }
    weight_unit u = format_load_unit(0u, weight_meta_base(pc.V * (pc.D / FORMAT_BLOCK)), id * units + i);
    [[unroll]] for (uint j = 0; j < FORMAT_UNIT / 4u; j++) y4[at + j] = format_vec4(u, j);
}
#else
#ifdef WEIGHT_TEXEL
layout(binding = 2) writeonly buffer Y4 { vec4 y4[]; };
#ifdef WEIGHT_F16
#define TEXEL_VALUES 8u
#else
#define TEXEL_VALUES 4u
#endif

// Texel `item` of y's rows (each of D / TEXEL_VALUES texels).
void copy_texel(uint item)
{
    uint texels = pc.D / TEXEL_VALUES;
    if (item >= pc.M * texels) return;
    uint m = item / texels, t = item % texels, id = ids[m], at = (m * pc.D + t * TEXEL_VALUES) / 4u;
    uvec4 q = uvec4(0u);  // an id past the table gives a zero row
    if (id < pc.V) q = imageLoad(w_texels, int(id * texels + t));
    else if (t == 0u) atomicAdd(status[0], 1u);
#ifdef WEIGHT_F16
    y4[at] = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
    y4[at + 1u] = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
#else
    y4[at] = uintBitsToFloat(q);
#endif
}
#endif

void main()
{
    uint item = grid_index(pc.groups_x, EMBEDDING_WG);
#ifdef WEIGHT_TEXEL
    if (pc.D % TEXEL_VALUES == 0u) {  // uniform: the host launched one invocation per texel
        copy_texel(item);
        return;
    }
#endif
    if (item >= pc.M * pc.D) return;
    uint m = item / pc.D, j = item % pc.D, id = ids[m];
    if (id >= pc.V) {
        y[item] = 0.0;
        if (j == 0u) atomicAdd(status[0], 1u);
        return;
    }
    y[item] = weight_at(id * pc.D + j);
}
#endif
