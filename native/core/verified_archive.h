// Archives torchnas can check before LibTorch parses them (LibTorch's zip/TorchScript reader trusts
// its input: one flipped byte can crash the process or make it allocate gigabytes).
//
// On-disk format, version 1 ("sealed archive"): the zip archive that torch::serialize::OutputArchive
// writes, with the 16-bit comment length of its End Of Central Directory record (the last field of the
// zip, LibTorch writes 0) set to 105, followed by a 105-byte ASCII trailer that is that zip comment:
//
//   "torchnas-archive 1 " <payload bytes: 20 decimal digits> " " <SHA-256 of the payload: 64 lowercase hex> "\n"
//
// where the payload is every byte before the trailer (including the patched comment length). The file
// stays a valid zip, so LibTorch (and unzip, Python's zipfile) still read it as before.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace torchnas {

constexpr size_t kArchiveTrailerSize = 105;
constexpr const char* kArchiveTrailerMagic = "torchnas-archive ";
constexpr int kArchiveFormatVersion = 1;
// Bounds on what a file may declare, checked before anything is allocated from them.
constexpr uint64_t kMaxArchiveEntries = 1u << 20;

// Reads a whole regular file (never blocks on a FIFO, refuses directories and devices).
// FILE_NOT_FOUND / INVALID_ARGUMENT naming `path`; `what` says what the file should hold.
std::string read_regular_file(const std::string& path, const std::string& what);

// Appends the trailer to a zip produced by OutputArchive::save_to. INTERNAL if it is not such a zip.
std::string seal_archive(std::string zip);

// What verify_archive found.
struct ArchiveCheck {
  bool sealed = false;   // true: the trailer's length and SHA-256 matched
  uint64_t entries = 0;  // zip entries, all CRC-checked
};

// Checks `bytes` (the whole file) before LibTorch sees them; FILE_CORRUPT naming `path` and what failed.
// A sealed file must match its trailer. A file without the trailer (torchnas < 0.2, torch::save) is
// accepted (our choice, so older checkpoints keep loading) only as a well-formed zip: every bound inside
// the file, entries stored or deflated (as LibTorch writes them) and every entry's CRC-32 correct —
// LibTorch itself skips the CRC check, which is how one flipped byte reached its TorchScript parser.
ArchiveCheck verify_archive(const std::string& bytes, const std::string& path);

}  // namespace torchnas
