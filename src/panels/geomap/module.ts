import { PanelPlugin } from '@grafana/data';
import { GeomapPanel, type GeomapOptions } from './GeomapPanel';

export const plugin = new PanelPlugin<GeomapOptions>(GeomapPanel).setPanelOptions((builder) =>
  builder
    .addRadio({
      path: 'metric',
      name: 'Colour by',
      defaultValue: 'bytes',
      settings: {
        options: [
          { value: 'bytes', label: 'Bytes' },
          { value: 'bytes_sent', label: 'Sent' },
          { value: 'bytes_received', label: 'Received' },
          { value: 'flows', label: 'Flows' },
          { value: 'packets', label: 'Packets' },
        ],
      },
    })
    .addTextInput({ path: 'variable', name: 'Variable set on click', description: 'Dashboard variable (without $) that a click on a country sets', defaultValue: 'country' })
);
