// Workgroup reductions built on subgroup operations. They work at any subgroup size (4 to 128)
// and any number of subgroups, because no size is assumed: every subgroup publishes one
// partial, and every subgroup then sums all partials itself (so no broadcast step is needed).
// Must be called in uniform control flow by the whole workgroup. The includer defines
// REDUCE_WORKGROUP_SIZE, its local_size_x: sizing the array by gl_WorkGroupSize.x instead
// makes Mesa 22.3's lavapipe allocate too little shared memory (valgrind: writes past an
// 8-byte block), which corrupts the host heap.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

shared float reduce_partials[REDUCE_WORKGROUP_SIZE];  // one per subgroup; at most one per invocation

float workgroup_sum(float value)
{
    float partial = subgroupAdd(value);
    if (subgroupElect()) reduce_partials[gl_SubgroupID] = partial;
    barrier();
    float total = 0.0;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize)
        total += reduce_partials[i];
    total = subgroupAdd(total);
    barrier();  // reduce_partials may be reused by the next call
    return total;
}

float workgroup_max(float value)
{
    float partial = subgroupMax(value);
    if (subgroupElect()) reduce_partials[gl_SubgroupID] = partial;
    barrier();
    float result = reduce_partials[0];
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize)
        result = max(result, reduce_partials[i]);
    result = subgroupMax(result);
    barrier();
    return result;
}
