// Installers from the app Electron Forge packaged (`npm run dist` passes --prepackaged out/DocTune-<platform>-<arch>).
/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'app.doctune.desktop',
  productName: 'DocTune',
  copyright: 'Copyright © DocTune contributors',
  directories: { output: 'out/installers', buildResources: 'resources' },
  icon: 'resources/icon.png',
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Science',
    icon: 'resources/icon.png',
    maintainer: 'DocTune <maintainers@doctune.app>',
    synopsis: 'Turn documents into a LoRA adapter for a local language model',
  },
  deb: { depends: ['libgtk-3-0', 'libnss3', 'libxss1', 'libasound2', 'libvulkan1'] },
  win: { target: ['nsis'], icon: 'resources/icon.ico' },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
  mac: { target: ['dmg'], category: 'public.app-category.developer-tools', icon: 'resources/icon.icns', hardenedRuntime: true },
  dmg: { sign: false },
  publish: null,
};
