import React from 'react';
import { AppPlugin, type AppRootProps } from '@grafana/data';
import { Captures } from './pages/Captures';

function App(_props: AppRootProps) {
  return <Captures />;
}

export const plugin = new AppPlugin<Record<string, never>>().setRootPage(App);
