// a Docusaurus 3 site (classic preset) with the README's snippets as written, built by
// scripts/build-sites.sh for tests/e2e/sites.test.mjs. the widget's folder (dist/unembed) is
// copied into static/unembed by the build script.
export default {
  title: 'unembed in Docusaurus',
  url: 'http://127.0.0.1',
  baseUrl: '/',
  favicon: 'favicon.svg',
  onBrokenLinks: 'throw',
  i18n: { defaultLocale: 'en', locales: ['en'] },
  presets: [['classic', { docs: { routeBasePath: '/', sidebarPath: './sidebars.js' }, blog: false, pages: false }]],
  // the README's snippet
  stylesheets: ['/unembed/style.css'],
  scripts: [{ src: '/unembed/unembed-explorer.js', type: 'module' }, { src: '/unembed/unembed-frame.js', defer: true }],
  themeConfig: {
    colorMode: { defaultMode: 'light', respectPrefersColorScheme: true },
    navbar: { title: 'unembed guest' },
  },
};
