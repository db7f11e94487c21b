// File I/O of the serialization module: whole-file reads, atomic durable
// writes (temporary file, fsync, rename, fsync of the directory) and the
// weights hash printed by lamina-inspect --hash.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "lamina/serialization/saving.h"

namespace lamina {

// ============================================================================
// Files.

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IOError(detail::concat("[load] cannot open '", path, "': ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IOError(detail::concat("[load] cannot stat '", path, "': ", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw IOError("[load] '" + path + "' is not a regular file");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IOError(detail::concat("[load] cannot read '", path, "': ", std::strerror(errno)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes, bool do_fsync) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  static std::atomic<std::uint64_t> counter{0};
  const std::string tmp = (dir / (target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                                  std::to_string(counter.fetch_add(1))))
                              .string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw IOError(detail::concat("[save] cannot create '", tmp, "': ", std::strerror(errno)));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IOError(detail::concat("[save] ", what, " '", tmp, "' (for '", path, "'): ", std::strerror(err)));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (do_fsync && ::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IOError(detail::concat("[save] cannot close '", tmp, "': ", std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IOError(detail::concat("[save] cannot rename '", tmp, "' to '", path, "': ", std::strerror(err)));
  }
  if (do_fsync) {
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw IOError(detail::concat("[save] cannot open directory '", dir.string(), "': ", std::strerror(errno)));
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    if (rc != 0) throw IOError(detail::concat("[save] cannot fsync directory '", dir.string(), "': ", std::strerror(err)));
  }
}

}  // namespace lamina
