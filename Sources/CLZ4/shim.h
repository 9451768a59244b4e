// liblz4 (Debian: liblz4-dev). Block API for nothing; the frame API (LZ4F_*) is what segments use,
// so every compressed region is a standard LZ4 frame that `lz4 -d` can read.
#include <lz4.h>
#include <lz4frame.h>
