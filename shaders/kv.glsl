// Reads of the KV cache at bindings 1 (K) and 2 (V): f32, or f16 packed two per word (KV_F16).
// KV_VEC4: load_k4(i) and load_v4(i) read elements 4i..4i+3 in one 16-byte (f16: 8-byte)
// load, for rows whose length and start are multiples of 4.
#if defined(KV_VEC4) && defined(KV_F16)
layout(binding = 1) readonly buffer KCache { uvec2 k_cache[]; };
layout(binding = 2) readonly buffer VCache { uvec2 v_cache[]; };
vec4 halves4(uvec2 words) { return vec4(unpackHalf2x16(words.x), unpackHalf2x16(words.y)); }
vec4 load_k4(uint i) { return halves4(k_cache[i]); }
vec4 load_v4(uint i) { return halves4(v_cache[i]); }
#elif defined(KV_VEC4)
layout(binding = 1) readonly buffer KCache { vec4 k_cache[]; };
layout(binding = 2) readonly buffer VCache { vec4 v_cache[]; };
vec4 load_k4(uint i) { return k_cache[i]; }
vec4 load_v4(uint i) { return v_cache[i]; }
#elif defined(KV_F16)
layout(binding = 1) readonly buffer KCache { uint k_cache[]; };
layout(binding = 2) readonly buffer VCache { uint v_cache[]; };
float half_at(uint word, uint i)
{
    vec2 pair = unpackHalf2x16(word);
    return (i & 1u) == 0u ? pair.x : pair.y;
}
float load_k(uint i) { return half_at(k_cache[i >> 1], i); }
float load_v(uint i) { return half_at(v_cache[i >> 1], i); }
#else
layout(binding = 1) readonly buffer KCache { float k_cache[]; };
layout(binding = 2) readonly buffer VCache { float v_cache[]; };
float load_k(uint i) { return k_cache[i]; }
float load_v(uint i) { return v_cache[i]; }
#endif
