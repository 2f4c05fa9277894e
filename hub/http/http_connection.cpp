#include "hub/http/http_connection.hpp"

#include <sstream>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

namespace hub::http {

namespace beast_http = boost::beast::http;

namespace {

// Unparsed bytes kept while a request is being handled: one full request's worth. A client
// that pipelines more than that without reading responses is cut off.
constexpr size_t kBufferedBytesMax = kHeaderBytesMax + kBodyBytesMax;

}  // namespace

HttpConnection::HttpConnection(Env& env, std::unique_ptr<Stream> stream, Handler handler,
                               std::function<void()> on_finished)
    : env_(env), stream_(std::move(stream)), handler_(std::move(handler)),
      on_finished_(std::move(on_finished)), self_(std::make_shared<HttpConnection*>(this)) {}

HttpConnection::~HttpConnection() {
    *self_ = nullptr;
    stream_.reset();
}

void HttpConnection::start() {
    stream_->set_handlers([this](ByteView bytes) { on_bytes(bytes); },
                          [this](const Status&) { finish(); });
}

void HttpConnection::on_bytes(ByteView bytes) {
    if (finished_) return;
    buffered_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (buffered_.size() > kBufferedBytesMax) {
        write_response(error_response(Status(Code::invalid_argument, "request too large")), false);
        return;
    }
    parse_buffered();
}

void HttpConnection::parse_buffered() {
    if (parsing_) {
        return;  // a synchronous response inside the loop below: the loop goes on
    }
    parsing_ = true;
    parse_loop();
    parsing_ = false;
}

void HttpConnection::parse_loop() {
    while (!finished_ && !awaiting_response_ && !buffered_.empty()) {
        if (!parser_) {
            parser_.emplace();
            parser_->header_limit(kHeaderBytesMax);
            parser_->body_limit(kBodyBytesMax);
            parser_->eager(true);
        }
        boost::beast::error_code ec;
        const size_t used = parser_->put(boost::asio::buffer(buffered_), ec);
        buffered_.erase(0, used);
        if (ec == beast_http::error::need_more) {
            return;
        }
        if (ec) {
            env_.trace("http.bad-request", ec.message());
            write_response(error_response(Status(Code::invalid_argument, ec.message())), false);
            return;
        }
        if (!parser_->is_done()) {
            continue;
        }
        Request request = parser_->release();
        parser_.reset();
        keep_alive_ = request.keep_alive();
        awaiting_response_ = true;
        const uint64_t number = ++requests_;
        std::weak_ptr<HttpConnection*> weak = self_;
        handler_(request, [weak, number](Response response) {
            std::shared_ptr<HttpConnection*> self = weak.lock();
            if (self && *self) (*self)->on_response(number, std::move(response));
        });
    }
}

void HttpConnection::on_response(uint64_t request_number, Response response) {
    HUB_ASSERT(request_number == requests_ && awaiting_response_);
    awaiting_response_ = false;
    write_response(response, keep_alive_);
    if (!finished_) parse_buffered();
}

void HttpConnection::write_response(const Response& response, bool keep_alive) {
    beast_http::response<beast_http::string_body> out;
    out.result(static_cast<unsigned>(response.status));
    out.version(11);
    for (const auto& [name, value] : response.headers) {
        out.set(name, value);
    }
    out.body() = response.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    std::ostringstream text;
    text << out;
    const std::string bytes = text.str();
    stream_->write(ByteView(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    env_.trace("http.response", std::to_string(response.status));
    if (!keep_alive) {
        stream_->close();
        finish();
    }
}

void HttpConnection::finish() {
    if (finished_) return;
    finished_ = true;
    if (on_finished_) {
        std::function<void()> done = std::move(on_finished_);
        on_finished_ = nullptr;
        done();
    }
}

}  // namespace hub::http
