import CopyWebpackPlugin from 'copy-webpack-plugin';
import type { Configuration } from 'webpack';
import grafanaConfig from './.config/webpack/webpack.config';

/**
 * create-plugin's webpack config (.config/ is tool-owned), plus the logos of the nested plugins:
 * the stock config copies only the app's own.
 */
const config = async (env: Record<string, unknown>): Promise<Configuration> => {
  const base = await grafanaConfig(env);
  base.plugins = [...(base.plugins ?? []), new CopyWebpackPlugin({ patterns: [{ from: '**/img/**/*', to: '.' }] })];
  return base;
};

export default config;
