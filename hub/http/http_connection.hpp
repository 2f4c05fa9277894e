// HttpConnection: one HTTP/1.1 connection, sans-IO: bytes from a Stream go into Beast's
// request parser (put() on buffers, never a socket read), complete requests go to the handler,
// and responses are serialized back onto the Stream in request order.
//
// One request is handled at a time (the next is parsed only after the previous one's response
// was written), so pipelined requests are answered in order. Limits are set explicitly (Beast's
// defaults are not relied on): headers up to kHeaderBytesMax, bodies up to kBodyBytesMax.
// A malformed request gets a 400 and the connection closes; "Connection: close" closes after
// the response.
//
// Owned by HttpServer. The Env must outlive it; `on_finished` runs once, from inside the
// connection: the owner destroys it later.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/http/parser.hpp>

#include "hub/env/env.hpp"
#include "hub/http/http_types.hpp"

namespace hub::http {

// 16 KiB of headers, like Node and most servers (h11 cites the same); SAS tokens are ~200 B.
constexpr size_t kHeaderBytesMax = 16 * 1024;
// Bodies: a 256 KB D2C batch grows by 4/3 in base64 plus JSON framing.
constexpr size_t kBodyBytesMax = 512 * 1024;

class HttpConnection {
  public:
    using Handler = std::function<void(const Request&, Respond)>;

    HttpConnection(Env& env, std::unique_ptr<Stream> stream, Handler handler,
                   std::function<void()> on_finished);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    void start();

  private:
    void on_bytes(ByteView bytes);
    void parse_buffered();
    void parse_loop();
    void on_response(uint64_t request_number, Response response);
    void write_response(const Response& response, bool keep_alive);
    void finish();

    Env& env_;
    std::unique_ptr<Stream> stream_;
    Handler handler_;
    std::function<void()> on_finished_;
    std::string buffered_;  // bytes received but not yet parsed
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    bool awaiting_response_ = false;
    bool keep_alive_ = true;
    bool finished_ = false;
    bool parsing_ = false;
    uint64_t requests_ = 0;
    std::shared_ptr<HttpConnection*> self_;  // lets late responses find out we are gone
};

}  // namespace hub::http
