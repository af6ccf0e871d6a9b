// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// Browser APIs jsdom does not implement, which Grafana UI's menus use (no behaviour under test depends on them).
class ObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
global.IntersectionObserver = global.IntersectionObserver ?? ObserverStub;
global.ResizeObserver = global.ResizeObserver ?? ObserverStub;
