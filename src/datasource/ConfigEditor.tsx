import React, { type ChangeEvent } from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, Input, SecretInput, Stack } from '@grafana/ui';
import type { CapsightOptions, CapsightSecureOptions } from './types';

type Props = DataSourcePluginOptionsEditorProps<CapsightOptions, CapsightSecureOptions>;

/**
 * Sidecar URL, API token and time limit. The token goes to secureJsonData (write-only): Grafana
 * hands it to the plugin's backend, which adds it to its requests to the sidecar.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const setUrl = (e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, jsonData: { ...options.jsonData, url: e.target.value } });
  const setTimeout = (e: ChangeEvent<HTMLInputElement>) => {
    const v = Number(e.target.value);
    onOptionsChange({ ...options, jsonData: { ...options.jsonData, timeoutSec: Number.isFinite(v) && v > 0 ? v : undefined } });
  };
  const setToken = (e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, secureJsonData: { apiToken: e.target.value } });
  const resetToken = () =>
    onOptionsChange({ ...options, secureJsonFields: { ...options.secureJsonFields, apiToken: false }, secureJsonData: { ...options.secureJsonData, apiToken: '' } });
  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Sidecar URL" labelWidth={16} tooltip="Where Grafana's server reaches the Capsight sidecar, e.g. http://capsight:9877">
        <Input id="capsight-url" width={50} value={options.jsonData.url ?? ''} placeholder="http://127.0.0.1:9877" onChange={setUrl} />
      </InlineField>
      <InlineField label="API token" labelWidth={16} tooltip="CAPSIGHT_API_TOKEN of the sidecar, if it has one. Stored encrypted; the browser never sees it.">
        <SecretInput
          id="capsight-token"
          width={50}
          isConfigured={options.secureJsonFields?.apiToken ?? false}
          value={options.secureJsonData?.apiToken ?? ''}
          placeholder="optional"
          onChange={setToken}
          onReset={resetToken}
        />
      </InlineField>
      <InlineField label="Time limit (s)" labelWidth={16} tooltip="How long the backend waits for the sidecar's answer to one request (default 30)">
        <Input id="capsight-timeout" type="number" width={12} min={1} value={options.jsonData.timeoutSec ?? ''} placeholder="30" onChange={setTimeout} />
      </InlineField>
    </Stack>
  );
}
