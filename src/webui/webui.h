// The dashboard web app served by the binary: GET / answers the app's index.html and
// GET /assets/<file> its hashed, immutable bundle files. The app routes on the URL hash
// (/#/overview, /#/explore?q=...), so no other path is needed.
//
// Caching: index.html is revalidated on every load (Cache-Control: no-cache, ETag);
// assets are cached for a year (immutable: their names change when their content does).
// If-None-Match gives 304. Clients that accept gzip get the precompressed form.
//
// Thread safety: the handlers read constant data only.
#pragma once

#include "api/router.h"

namespace zw::webui {

void RegisterWebUi(api::Router& router);

}  // namespace zw::webui
