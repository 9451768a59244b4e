// libxxhash (Debian: libxxhash-dev). XXH3_64bits is an exported symbol; we link instead of inlining so the
// values are exactly those of the `xxhsum -H3` of the same library.
#include <xxhash.h>
