// One invocation per item over a 2-D grid of workgroups (a 1-D count may exceed the 65535
// workgroups per dimension that every device supports). The host computes groups_x with
// vkl_launch_items(). `workgroup` is the shader's local_size_x: gl_WorkGroupSize is avoided
// because Mesa 22.3's lavapipe gets it wrong (elements past the first workgroups go unwritten).
uint grid_index(uint groups_x, uint workgroup)
{
    return (gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x) * workgroup + gl_LocalInvocationID.x;
}
