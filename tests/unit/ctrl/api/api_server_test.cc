// The API server with a real gRPC client over its unix socket: permissions,
// one live instance per socket, stale sockets, status codes and error details.
#include "ctrl/api/api_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "config/parser.h"
#include "meshplane.grpc.pb.h"

namespace meshplane::ctrl {
namespace {

const std::string kPolicy = R"(ports:
  - {name: a, device: d0, addresses: [10.0.1.1/24]}
  - {name: b, device: d1, addresses: [10.0.2.1/24]}
load_balancer: {flow_capacity: 1024, max_services: 8, max_endpoints: 32}
services:
  - {name: web, vip: 10.30.0.1, ports: [{port: 80}], endpoints: [{address: 10.0.2.11}]}
)";

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mp-api-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "api.sock").string();
    auto parsed = config::load_policy_text(kPolicy, "start.yaml");
    ASSERT_TRUE(parsed.ok());
    PolicyManager::Hooks hooks;
    hooks.publish = [this](std::unique_ptr<dataplane::Snapshot> s) { current_ = std::move(s); };
    manager_ = std::make_unique<PolicyManager>(parsed.policy, std::vector<PortBinding>{{0, {}}, {1, {}}}, hooks,
                                               PolicyManager::Clock::now());
    control_ = std::thread([this] {  // the control loop's part
      while (!stop_) {
        if (!paused_) queue_.run_pending();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  void TearDown() override {
    server_.reset();
    stop_ = true;
    control_.join();
    std::filesystem::remove_all(dir_);
  }
  ApiContext context() {
    ApiContext c;
    c.queue = &queue_;
    c.manager = manager_.get();
    c.events = &manager_->events();
    c.stats = [] { return v1::GetStatsResponse{}; };
    c.status = [this] {
      StatusInfo s;
      s.generation = manager_->generation();
      return s;
    };
    return c;
  }
  std::unique_ptr<v1::Meshplane::Stub> client() {
    return v1::Meshplane::NewStub(grpc::CreateChannel("unix:" + path_, grpc::InsecureChannelCredentials()));
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<dataplane::Snapshot> current_;
  std::unique_ptr<PolicyManager> manager_;
  ControlQueue queue_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};  // the control thread busy elsewhere
  std::thread control_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiServerTest, SocketIs0660AndOneLiveInstancePerSocket) {
  server_ = std::make_unique<ApiServer>(path_, context());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  try {
    ApiServer second(path_, context());
    FAIL() << "a second server on a live socket must refuse";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another meshplane is serving the API"), std::string::npos) << e.what();
  }
  grpc::ClientContext ctx;
  v1::GetStatusResponse status;
  ASSERT_TRUE(client()->GetStatus(&ctx, {}, &status).ok()) << "the first one still serves";
  EXPECT_EQ(status.generation(), 1u);
}

TEST_F(ApiServerTest, StaleSocketIsReplaced) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // the file stays, nobody listens: what a crashed instance leaves
  server_ = std::make_unique<ApiServer>(path_, context());
  grpc::ClientContext ctx;
  v1::GetStatusResponse status;
  EXPECT_TRUE(client()->GetStatus(&ctx, {}, &status).ok());
}

TEST_F(ApiServerTest, StatusCodesAndErrorDetails) {
  server_ = std::make_unique<ApiServer>(path_, context());
  auto stub = client();
  {
    grpc::ClientContext ctx;
    v1::ApplyRequest req;
    req.set_yaml(kPolicy + "bogus: 1\n");
    req.set_source("bad.yaml");
    v1::ApplyResponse resp;
    const auto s = stub->Apply(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("bad.yaml:7:1: error: unknown key 'bogus'"), std::string::npos)
        << s.error_message();
    v1::ApplyResponse details;
    ASSERT_TRUE(details.ParseFromString(s.error_details()));
    ASSERT_EQ(details.errors_size(), 1);
    EXPECT_EQ(details.errors(0).line(), 7);
    EXPECT_EQ(details.errors(0).column(), 1);
    EXPECT_EQ(details.generation(), 1u);
  }
  {
    grpc::ClientContext ctx;
    v1::UpdateEndpointsRequest req;
    req.set_service("nope");
    auto* c = req.add_changes();
    c->set_op(v1::EndpointChange::DRAIN);
    c->set_address("10.0.2.11");
    v1::UpdateEndpointsResponse resp;
    EXPECT_EQ(stub->UpdateEndpoints(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::UpdateEndpointsRequest req;
    req.set_service("web");
    auto* c = req.add_changes();
    c->set_op(v1::EndpointChange::ADD);
    c->set_address("10.0.2.12");
    v1::UpdateEndpointsResponse resp;
    ASSERT_TRUE(stub->UpdateEndpoints(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.generation(), 2u);
    EXPECT_TRUE(resp.applied());
  }
  {
    grpc::ClientContext ctx;
    v1::GetPolicyResponse resp;
    ASSERT_TRUE(stub->GetPolicy(&ctx, {}, &resp).ok());
    EXPECT_EQ(resp.generation(), 2u);
    EXPECT_NE(resp.yaml().find("10.0.2.12"), std::string::npos);
    auto again = config::load_policy_text(resp.yaml(), "got");
    EXPECT_TRUE(again.ok()) << config::format(again.errors);
  }
}

// A document is read on the API's thread: a bad one (here, nested 200,000
// deep, which once kept the control thread busy for a minute) is refused
// with its position while the control thread is busy elsewhere.
TEST_F(ApiServerTest, ABadDocumentIsRefusedWithoutTheControlThread) {
  server_ = std::make_unique<ApiServer>(path_, context());
  paused_ = true;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::ApplyRequest req;
  req.set_yaml("ports: " + std::string(200'000, '[') + std::string(200'000, ']') + "\n");
  req.set_source("deep.yaml");
  v1::ApplyResponse resp;
  const auto s = client()->Apply(&ctx, req, &resp);
  paused_ = false;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("deep.yaml:1:71: error: lists and maps nested more than 64 deep"),
            std::string::npos) << s.error_message();
  EXPECT_EQ(manager_->generation(), 1u);
  EXPECT_EQ(manager_->events().after(0, std::chrono::milliseconds(0)).back().kind, "policy_rejected");
}

// An apply whose caller gave up while it waited for the control thread is
// not carried out when the control thread gets to it.
TEST_F(ApiServerTest, AnApplyItsCallerAbandonedIsNotCarriedOut) {
  server_ = std::make_unique<ApiServer>(path_, context());
  paused_ = true;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  v1::ApplyRequest req;
  req.set_yaml(kPolicy);
  v1::ApplyResponse resp;
  EXPECT_EQ(client()->Apply(&ctx, req, &resp).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's own deadline (its copy of the client's, from a little later)
  // passes too, and the apply leaves the queue without running.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (queue_.pending() != 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(queue_.pending(), 0u) << "an abandoned apply still waits for the control thread";
  paused_ = false;
  grpc::ClientContext ctx2;
  v1::GetStatusResponse status;
  ASSERT_TRUE(client()->GetStatus(&ctx2, {}, &status).ok());  // the queue ran, the apply's task with it
  EXPECT_EQ(status.generation(), 1u) << "an apply nobody waits for changed the policy";
}

// gRPC's default 4 MiB message limit is raised to the policy size limit.
TEST_F(ApiServerTest, APolicyUpToTheSizeLimitFitsInOneMessage) {
  server_ = std::make_unique<ApiServer>(path_, context());
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  auto stub = v1::Meshplane::NewStub(
      grpc::CreateCustomChannel("unix:" + path_, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  v1::ApplyRequest req;
  req.set_yaml(kPolicy + "# " + std::string(8u << 20, 'x') + "\n");  // 8 MiB of comment
  req.set_dry_run(true);
  v1::ApplyResponse resp;
  const auto s = stub->Apply(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace meshplane::ctrl
