// Durable file writes shared by the learner's checkpoints and the evaluator's best
// policy: a reader sees the old file or the whole new one, never a torn mix.
#pragma once

#include <string>
#include <string_view>

namespace hoverslam {

// Writes `bytes` to `path` atomically and durably: a temp file in the same
// directory, fsync, rename, fsync of the directory. Throws std::runtime_error naming
// the path on any failure; `path` is then untouched and the temp file removed.
void WriteFileAtomic(const std::string& path, std::string_view bytes);

// fsync of a file; throws std::runtime_error naming it on failure.
void SyncPath(const std::string& path);

// fsync of a directory, so a rename in it is durable. Filesystems that cannot sync a
// directory (EINVAL) are let be: the rename is as durable as they make it. Other
// failures (EIO) throw std::runtime_error naming the directory.
void SyncDirectory(const std::string& path);

}  // namespace hoverslam
