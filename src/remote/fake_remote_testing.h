// A remote_write receiver for tests, on 127.0.0.1: answers each request with a status the
// test chooses and keeps the decoded requests it answered 2xx. Header-only, test use only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <snappy.h>

#include "ingest/remote_write_proto.h"

namespace zw::remote {

struct Received {
  std::map<std::string, std::string> headers;  // lower-case names
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, double>>>> series;
};

// A remote_write receiver on 127.0.0.1: answers each request with what `status` returns
// (called with the request number, from 0) and keeps the decoded requests it answered 2xx.
class FakeRemote {
 public:
  explicit FakeRemote(std::function<int(int)> status) : status_(std::move(status)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { Accept(); });
  }
  ~FakeRemote() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    std::lock_guard lock(mu_);
    for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    for (auto& t : threads_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/write"; }
  void SetStatus(std::function<int(int)> status) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t samples() {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& r : received_)
      for (const auto& s : r.series) n += s.second.size();
    return n;
  }
  size_t WaitForSamples(size_t n) {
    for (int i = 0; i < 1000 && samples() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return samples();
  }

 private:
  void Accept() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::lock_guard lock(mu_);
      conns_.push_back(c);
      threads_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    std::string buf;
    char tmp[65536];
    while (true) {
      size_t hdr_end;
      while ((hdr_end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) {
          ::close(c);
          return;
        }
        buf.append(tmp, static_cast<size_t>(n));
      }
      Received r;
      std::string head = buf.substr(0, hdr_end);
      size_t pos = head.find("\r\n") + 2;
      while (pos < head.size()) {
        size_t eol = head.find("\r\n", pos);
        if (eol == std::string::npos) eol = head.size();
        std::string line = head.substr(pos, eol - pos);
        size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        pos = eol + 2;
      }
      const size_t length = std::stoul(r.headers["content-length"]);
      while (buf.size() < hdr_end + 4 + length) {
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) {
          ::close(c);
          return;
        }
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string body = buf.substr(hdr_end + 4, length);
      buf.erase(0, hdr_end + 4 + length);
      std::string proto;
      EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &proto));
      ingest::prompb::WriteRequest req;
      EXPECT_TRUE(ingest::prompb::DecodeWriteRequest(proto, &req).ok());
      for (const auto& ts : req.series) {
        std::string key;
        for (uint32_t i = ts.labels_begin; i < ts.labels_end; ++i) {
          if (!key.empty()) key += ',';
          key += std::string(req.labels[i].name) + "=" + std::string(req.labels[i].value);
        }
        std::vector<std::pair<int64_t, double>> samples;
        for (uint32_t i = ts.samples_begin; i < ts.samples_end; ++i)
          samples.emplace_back(req.samples[i].timestamp, req.samples[i].value);
        r.series.emplace_back(std::move(key), std::move(samples));
      }
      int status;
      {
        std::lock_guard lock(mu_);
        status = status_(requests_++);
        if (status >= 200 && status < 300) received_.push_back(std::move(r));
      }
      std::string answer = status >= 300 ? "refused by the test" : "";
      std::string resp = "HTTP/1.1 " + std::to_string(status) +
                         " X\r\nContent-Length: " + std::to_string(answer.size()) + "\r\n\r\n" +
                         answer;
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::mutex mu_;
  std::function<int(int)> status_;
  std::vector<int> conns_;
  std::vector<std::thread> threads_;
  std::vector<Received> received_;
  int requests_ = 0;
};

}  // namespace zw::remote
