// TestTempDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed with its contents
// when the object goes away. Test-only helper for hub/server tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "hub/env/assert.hpp"

namespace hub::server {

class TestTempDir {
  public:
    TestTempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/hub-server-XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        HUB_ASSERT(::mkdtemp(buf.data()) != nullptr);
        path_ = buf.data();
    }
    ~TestTempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TestTempDir(const TestTempDir&) = delete;
    TestTempDir& operator=(const TestTempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

}  // namespace hub::server
