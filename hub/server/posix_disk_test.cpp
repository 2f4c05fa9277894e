// PosixDisk through RealEnv: read_range keeps its contract; sync_async fsyncs, its callback
// comes later from the event loop, and a cancelled one never comes.
#include "hub/server/posix_disk.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "hub/env/disk_read_range_check.hpp"
#include "hub/server/real_env.hpp"
#include "hub/server/test_temp_dir.hpp"

namespace hub::server {
namespace {

// A RealEnv (and so a PosixDisk) on a fresh temporary data directory.
class PosixDiskTest : public ::testing::Test {
  protected:
    void SetUp() override {
        RealEnvConfig config;
        config.data_dir = dir.path();
        Result<std::unique_ptr<RealEnv>> opened = RealEnv::open(config);
        ASSERT_TRUE(opened.ok()) << opened.status().to_string();
        env = std::move(*opened);
    }
    TestTempDir dir;
    std::unique_ptr<RealEnv> env;
};

TEST_F(PosixDiskTest, ReadRangeReadsAPartOfTheFile) {
    expect_read_range_contract(env->disk());
}

TEST_F(PosixDiskTest, SyncCallbackRunsLaterFromTheEventLoop) {
    Disk& disk = env->disk();
    ASSERT_TRUE(disk.append("f.log", Bytes{1, 2, 3}).ok());
    std::optional<Status> result;
    (void)disk.sync_async("f.log", [&](Status s) { result = s; });
    EXPECT_FALSE(result.has_value());  // never inside the call
    bool cancelled_ran = false;
    const uint64_t id = disk.sync_async("f.log", [&](Status) { cancelled_ran = true; });
    disk.cancel_sync(id);
    std::optional<Status> missing;
    (void)disk.sync_async("missing.log", [&](Status s) { missing = s; });
    ASSERT_TRUE(env->run_for(Duration::millis(200)).ok());
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->ok()) << result->to_string();
    EXPECT_FALSE(cancelled_ran);
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->code(), Code::not_found);
}

}  // namespace
}  // namespace hub::server
