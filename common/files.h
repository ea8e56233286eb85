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

// fsync of a file or directory; throws std::runtime_error naming it on failure.
void SyncPath(const std::string& path);

}  // namespace hoverslam
