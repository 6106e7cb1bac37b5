/**
 * /api/docs: Swagger UI from the swagger-ui-dist package (no CDN), with its
 * own page and initializer script so the page needs no inline script.
 */

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type RequestHandler, Router } from 'express';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>airtable-mcp-kit API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="./swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js"></script>
<script src="./docs-init.js"></script>
</body>
</html>
`;

const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '../openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
`;

// Swagger UI sets style attributes and loads its images as data: URLs; scripts come only from here.
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);

function swaggerDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

export function apiDocsRouter(): Router {
  const router = Router();
  const withCsp: RequestHandler = (_req, res, next) => {
    res.set('Content-Security-Policy', DOCS_CSP);
    next();
  };
  router.use(withCsp);
  router.get('/', (req, res) => {
    // Relative asset URLs need the trailing slash.
    const pathname = req.originalUrl.split('?')[0] ?? '';
    if (!pathname.endsWith('/')) return void res.redirect(308, `${pathname}/`);
    res.type('html').send(PAGE);
  });
  router.get('/docs-init.js', (_req, res) => void res.type('text/javascript').send(INIT));
  let assets: RequestHandler | undefined;
  router.get('/:file', (req, res, next) => {
    if (!ASSETS.has(req.params.file)) return next();
    assets ??= express.static(swaggerDir(), { index: false, maxAge: '1h' });
    assets(req, res, next);
  });
  return router;
}
