// volk's implementation, from the Debian package (libvulkan-volk-dev). Included rather than
// listed as a source so that it compiles as a system header, outside our warning flags.
#include <volk.c>
