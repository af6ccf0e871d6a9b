import { DataSourcePlugin } from '@grafana/data';
import { ConfigEditor } from './ConfigEditor';
import { DataSource } from './datasource';
import { QueryEditor } from './QueryEditor';
import type { CapsightOptions, CapsightQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, CapsightQuery, CapsightOptions>(DataSource).setConfigEditor(ConfigEditor).setQueryEditor(QueryEditor);
