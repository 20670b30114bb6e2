#pragma once
// The request headers worth keeping from a CGI/FastCGI environment, where
// nginx passes each header as HTTP_NAME=value (fastcgi_pass_request_headers).
// Pure: the FastCGI edge hands over the request's parameters.
#include "http/request.hpp"

namespace leadhook::http {

/// User-Agent, X-Forwarded-For, X-Real-IP and every X-Mailgun-* header, in
/// the parameters' order, names in their usual spelling (HTTP_X_MAILGUN_ID
/// becomes X-Mailgun-Id). `params` are FastCGI's (name, value) pairs.
Headers kept_headers(const Headers& params);

} // namespace leadhook::http
