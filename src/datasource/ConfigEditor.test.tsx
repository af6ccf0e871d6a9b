import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { ConfigEditor } from './ConfigEditor';

describe('ConfigEditor', () => {
  it('edits the sidecar URL and keeps the token write-only', () => {
    const onOptionsChange = jest.fn();
    const options = { jsonData: { url: '' }, secureJsonFields: { apiToken: true }, secureJsonData: {} } as never;
    render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('http://127.0.0.1:9877'), { target: { value: 'http://capsight:9877' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ jsonData: { url: 'http://capsight:9877' } }));
    // A configured token is shown as "configured", never its value.
    expect(screen.getByDisplayValue('configured')).toBeDisabled();
    // The backend's time limit per sidecar request (jsonData.timeoutSec).
    fireEvent.change(screen.getByPlaceholderText('30'), { target: { value: '90' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ jsonData: { url: '', timeoutSec: 90 } }));
  });
});
