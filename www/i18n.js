// every word the explorer shows, in English and Vietnamese. `language(tag)` is the one rule
// for a language tag, the same as the core's plot::Lang::parse: a BCP 47 tag whose primary
// subtag is "vi" ("vi", "vi-VN") is Vietnamese, anything else (en_US, vi_VN, x, garbage)
// English; it never throws. `strings(lang)` gives the words and `number(lang)`/`integer(lang)`
// format numbers for it, without Intl (an invalid tag would make toLocaleString throw).

const EN = {
  hLabel: 'hidden state h: a token or an expression',
  hHelp: 'a token (" Paris" with its leading space), #id, or king - man + woman',
  scale: ['‖h‖ scale', 'multiplies h: longer h sharpens the softmax'],
  mix: ['mix toward', 'h ← (1 − t)·h + t·v(other token)'],
  noise: ['noise σ', 'adds seeded Gaussian noise to every component of h'],
  temperature: ['temperature T', 'p = softmax(z / T); T = 0 puts all mass on the arg-max'],
  mixWith: 'token to mix toward',
  target: 'target token for the loss',
  lr: 'learning rate',
  rows: 'rows in the tables (top k)',
  rowsWord: 'rows',
  seed: 'seed',
  reroll: 're-roll',
  rerollTitle: 'new noise seed',
  coeffs: 'h along the top singular directions (offsets a_k: h ← h + Σ a_k v_k)',
  coeffLabel: (k) => `offset along singular direction ${k}`,
  step: 'Step', play: 'Play', pause: 'Pause', reset: 'Reset',
  targetWord: 'target', lrWord: 'lr',
  argmax: '0 (arg-max)',
  topTokens: 'Top tokens',
  tableCaption: (n, t, h, norm) => `Top ${n} by logit at T = ${t} (entropy ${h} nats, ‖h‖ = ${norm})`,
  tableHead: ['#', 'token', 'id', 'logit z', 'p', '‖v‖', 'cos θ', 'cos rank'],
  cosCaption: 'Top by cos θ, with each token\'s rank by logit (how far the norm moves it)',
  cosHead: ['#', 'token', 'cos θ', 'logit rank', 'moved'],
  same: (top, cos) => `The top logit, ${top}, is also the token h points at most directly (cos θ = ${cos}).`,
  differs: (top, norm, best, cos, rank) => `${top} has the top logit because its vector is long (‖v‖ = ${norm}), while ${best} points most directly along h (cos θ = ${cos}) and ranks #${rank} by logit.`,
  targetInfo: (tok, p, rank, crank, loss, grad, steps) => `target ${tok}: p = ${p}, rank ${rank} by logit (${crank} by cosine), loss ${loss}${grad}; ${steps} step${steps === 1 ? '' : 's'} taken`,
  gradNorm: (g) => `, ‖∇L‖ = ${g}`,
  pickTarget: 'Pick a target token to see the loss and take gradient steps.',
  drift: (n) => ` h also carries the offset of earlier steps (‖drift‖ = ${n}); Reset removes it.`,
  noRows: 'The tables show no rows (top = 0); set “rows” above 0 to see the top tokens.',
  cancel: 'Cancel',
  replaying: (k, n) => `replaying the link's gradient steps: ${k} of ${n}`,
  replayCancelled: 'The link\'s gradient steps were cancelled; h is as before them.',
  replayFailed: (m) => `the link's gradient steps could not be replayed: ${m}`,
  noReplay: (n) => `the link asks for ${n} gradient steps, which can only be replayed where the page keeps the model's file; they were not taken`,
  formula: (tok, n, h, c, z, p, t) => `${tok}: z = ‖v‖ × ‖h‖ × cos θ = ${n} × ${h} × ${c} = ${z};  p = softmax(z / T) = ${p} at T = ${t}`,
  direction: (k, s, c, sc, e) => `direction ${k}: σ = ${s}, c = ${c}, σ·c = ${sc}; first ${k} carry ${e}% of ‖E‖²`,
  chart: (name) => `${name} chart`,
  loading: 'loading the model…',
  loadingPct: (p) => `loading the model… ${p}%`,
  loadFailed: (m) => `could not load the model: ${m} `,
  retry: 'Retry',
  page: {
    title: 'unembed — from hidden state to token',
    pipeline: 'token → embedding v → transformer layers → hidden state h → unembedding z = E·h → softmax → next token',
    lead: 'The last step of a language model scores every token of the vocabulary against the hidden state: z_i = v_i·h = ‖v_i‖·‖h‖·cos θ_i. Build h below and watch the prediction move; every number is computed over the whole vocabulary in WebAssembly.',
    model: 'Model',
    open: 'Open model file…',
    openTitle: 'a GGUF or safetensors model (with its tokenizer.json); only the header and the embedding are read',
    dropHint: '…or drop a .gguf / .safetensors file (and its tokenizer.json) anywhere on the page.',
    loading: 'loading…',
    failed: 'failed',
    kept: 'failed; the model on screen is unchanged',
    reading: 'reading the model…',
    checking: 'checking sha256…',
    mb: (got, total, pct) => `${got} / ${total} MB (${pct}%)`,
    info: (name, vocab, d, tied) => `${name}: ${vocab} tokens × d = ${d}, ${tied ? 'tied (W_U = E)' : 'untied'}`,
    requant: (from, max, rms) => `; the file stores E as ${from}, served here as Q8_0 (largest difference ${max}% of a row's norm, RMS ${rms}%)`,
    chooseFile: 'Choose a .gguf or .safetensors file (for safetensors, also its tokenizer.json or vocab.json).',
    header: (name) => `reading the header of ${name}…`,
    tensors: (name, got, want, pct) => `${name}: ${got} / ${want} MB of tensors (${pct}%)`,
    noTokenizer: ' — no tokenizer.json given, so tokens show as <id>',
    spectrum: (pct) => `computing the spectrum…${pct === undefined ? '' : ` ${pct}%`}`,
    spectrumFailed: (m) => `spectrum failed: ${m}`,
    noWasm: (m) => `could not start WebAssembly: ${m}`,
  },
  loadError: ({ code, args: a }) => ({
    manifest: () => `could not read ${a[0]}: HTTP ${a[1]}`,
    manifestJson: () => `${a[0]} is not valid JSON`,
    noModels: () => `${a[0]} lists no models`,
    noModel: () => `no model ${JSON.stringify(a[0])} in ${a[1]}`,
    http: () => `could not download ${a[0]}: HTTP ${a[1]}`,
    longer: () => `${a[0]} is longer than the manifest says (${a[1]} bytes)`,
    shorter: () => `${a[0]} ended after ${a[1]} of ${a[2]} bytes`,
    sha: () => `${a[0]}: sha256 is ${a[1]}, the manifest says ${a[2]}`,
    length: () => `${a[0]}: the server says ${a[1]} bytes, the manifest says ${a[2]}`,
    network: () => `${a[0]}: the connection failed after ${a[1]} of ${a[2]} bytes (${a[3]})`,
    stalled: () => `${a[0]}: no data for ${a[1]} s after ${a[2]} of ${a[3]} bytes; the server may be down`,
    aborted: () => `${a[0]}: download cancelled`,
  }[code] ?? (() => code))(),
  explain: {
    topk: 'The model scores every token with z_i = v_i · h and turns the scores into probabilities with a softmax. Only the top of the list is shown; the rest of the vocabulary shares what is left.',
    cosnorm: 'Each dot is one token: how well it points along h (cos θ) against how long its vector is (‖v‖). Since z = ‖v‖·‖h‖·cos θ, tokens on one curve get the same logit: a long vector at a worse angle can beat the token h points at.',
    spectrum: 'E = U Σ Vᵀ. The singular values σ_k say how much E stretches each direction; the first is far larger than the rest, so whatever part of h lies along v₁ dominates every logit. The orange bars show h in that basis: σ_k·c_k with c = Vᵀh.',
    loss: 'Cross-entropy L = −log p(target). Its gradient ∇L = Σ p_i v_i − v_true pulls h toward the target\'s embedding and pushes it away from what the model currently expects. Step moves h by −lr·∇L.',
  },
};

const VI = {
  hLabel: 'trạng thái ẩn h: một token hoặc một biểu thức',
  hHelp: 'một token (" Paris" có dấu cách ở đầu), #id, hoặc king - man + woman',
  scale: ['độ dài ‖h‖', 'nhân h với một hệ số: h càng dài thì softmax càng nhọn'],
  mix: ['trộn với', 'h ← (1 − t)·h + t·v(token khác)'],
  noise: ['nhiễu σ', 'cộng nhiễu Gauss (có seed) vào mọi thành phần của h'],
  temperature: ['nhiệt độ T', 'p = softmax(z / T); T = 0 dồn toàn bộ xác suất vào arg-max'],
  mixWith: 'token để trộn',
  target: 'token đích cho hàm mất mát',
  lr: 'tốc độ học',
  rows: 'số hàng trong bảng (top k)',
  rowsWord: 'số hàng',
  seed: 'seed',
  reroll: 'đổi nhiễu',
  rerollTitle: 'seed nhiễu mới',
  coeffs: 'h theo các hướng kỳ dị đầu tiên (độ lệch a_k: h ← h + Σ a_k v_k)',
  coeffLabel: (k) => `độ lệch theo hướng kỳ dị ${k}`,
  step: 'Bước', play: 'Chạy', pause: 'Dừng', reset: 'Đặt lại',
  targetWord: 'token đích', lrWord: 'lr',
  argmax: '0 (arg-max)',
  topTokens: 'Các token đứng đầu',
  tableCaption: (n, t, h, norm) => `${n} token có logit cao nhất ở T = ${t} (entropy ${h} nat, ‖h‖ = ${norm})`,
  tableHead: ['#', 'token', 'id', 'logit z', 'p', '‖v‖', 'cos θ', 'hạng cos'],
  cosCaption: 'Xếp theo cos θ, kèm hạng theo logit của từng token (chuẩn ‖v‖ đẩy nó đi bao xa)',
  cosHead: ['#', 'token', 'cos θ', 'hạng logit', 'dịch chuyển'],
  same: (top, cos) => `Token có logit cao nhất, ${top}, cũng là token mà h hướng tới trực tiếp nhất (cos θ = ${cos}).`,
  differs: (top, norm, best, cos, rank) => `${top} có logit cao nhất vì vector của nó dài (‖v‖ = ${norm}), trong khi ${best} cùng hướng với h nhất (cos θ = ${cos}) nhưng chỉ đứng thứ ${rank} theo logit.`,
  targetInfo: (tok, p, rank, crank, loss, grad, steps) => `token đích ${tok}: p = ${p}, hạng ${rank} theo logit (${crank} theo cosine), mất mát ${loss}${grad}; đã đi ${steps} bước`,
  gradNorm: (g) => `, ‖∇L‖ = ${g}`,
  pickTarget: 'Chọn một token đích để xem hàm mất mát và đi các bước gradient.',
  drift: (n) => ` h còn mang độ lệch của các bước trước (‖drift‖ = ${n}); nút Đặt lại sẽ bỏ nó.`,
  noRows: 'Bảng không có hàng nào (top = 0); hãy đặt “số hàng” lớn hơn 0 để xem các token đứng đầu.',
  cancel: 'Hủy',
  replaying: (k, n) => `đang chạy lại các bước gradient của liên kết: ${k} trên ${n}`,
  replayCancelled: 'Đã hủy các bước gradient của liên kết; h giữ nguyên như trước các bước đó.',
  replayFailed: (m) => `không chạy lại được các bước gradient của liên kết: ${m}`,
  noReplay: (n) => `liên kết yêu cầu ${n} bước gradient, chỉ chạy lại được khi trang giữ tệp mô hình; các bước đó chưa được thực hiện`,
  formula: (tok, n, h, c, z, p, t) => `${tok}: z = ‖v‖ × ‖h‖ × cos θ = ${n} × ${h} × ${c} = ${z};  p = softmax(z / T) = ${p} ở T = ${t}`,
  direction: (k, s, c, sc, e) => `hướng ${k}: σ = ${s}, c = ${c}, σ·c = ${sc}; ${k} hướng đầu chứa ${e}% của ‖E‖²`,
  chart: (name) => `biểu đồ ${name}`,
  loading: 'đang tải mô hình…',
  loadingPct: (p) => `đang tải mô hình… ${p}%`,
  loadFailed: (m) => `không tải được mô hình: ${m} `,
  retry: 'Thử lại',
  page: {
    title: 'unembed — từ trạng thái ẩn đến token',
    pipeline: 'token → embedding v → các lớp transformer → trạng thái ẩn h → unembedding z = E·h → softmax → token tiếp theo',
    lead: 'Bước cuối của một mô hình ngôn ngữ chấm điểm mọi token trong bộ từ vựng theo trạng thái ẩn: z_i = v_i·h = ‖v_i‖·‖h‖·cos θ_i. Hãy dựng h bên dưới và xem dự đoán thay đổi; mọi con số được tính trên toàn bộ từ vựng bằng WebAssembly.',
    model: 'Mô hình',
    open: 'Mở tệp mô hình…',
    openTitle: 'một mô hình GGUF hoặc safetensors (kèm tokenizer.json); chỉ đọc phần đầu tệp và ma trận embedding',
    dropHint: '…hoặc thả một tệp .gguf / .safetensors (và tokenizer.json của nó) vào bất kỳ đâu trên trang.',
    loading: 'đang tải…',
    failed: 'thất bại',
    kept: 'thất bại; mô hình đang hiển thị vẫn giữ nguyên',
    reading: 'đang đọc mô hình…',
    checking: 'đang kiểm tra sha256…',
    mb: (got, total, pct) => `${got} / ${total} MB (${pct}%)`,
    info: (name, vocab, d, tied) => `${name}: ${vocab} token × d = ${d}, ${tied ? 'dùng chung trọng số (W_U = E)' : 'không dùng chung trọng số'}`,
    requant: (from, max, rms) => `; tệp lưu E dạng ${from}, ở đây dùng bản Q8_0 (sai khác lớn nhất ${max}% chuẩn của một hàng, RMS ${rms}%)`,
    chooseFile: 'Hãy chọn một tệp .gguf hoặc .safetensors (với safetensors, kèm tokenizer.json hoặc vocab.json).',
    header: (name) => `đang đọc phần đầu của ${name}…`,
    tensors: (name, got, want, pct) => `${name}: ${got} / ${want} MB tensor (${pct}%)`,
    noTokenizer: ' — không có tokenizer.json nên token hiển thị dạng <id>',
    spectrum: (pct) => `đang tính phổ…${pct === undefined ? '' : ` ${pct}%`}`,
    spectrumFailed: (m) => `tính phổ thất bại: ${m}`,
    noWasm: (m) => `không khởi động được WebAssembly: ${m}`,
  },
  loadError: ({ code, args: a }) => ({
    manifest: () => `không đọc được ${a[0]}: HTTP ${a[1]}`,
    manifestJson: () => `${a[0]} không phải JSON hợp lệ`,
    noModels: () => `${a[0]} không liệt kê mô hình nào`,
    noModel: () => `không có mô hình ${JSON.stringify(a[0])} trong ${a[1]}`,
    http: () => `không tải được ${a[0]}: HTTP ${a[1]}`,
    longer: () => `${a[0]} dài hơn kích thước trong manifest (${a[1]} byte)`,
    shorter: () => `${a[0]} dừng sau ${a[1]} trên ${a[2]} byte`,
    sha: () => `${a[0]}: sha256 là ${a[1]}, manifest ghi ${a[2]}`,
    length: () => `${a[0]}: máy chủ báo ${a[1]} byte, manifest ghi ${a[2]}`,
    network: () => `${a[0]}: kết nối bị lỗi sau ${a[1]} trên ${a[2]} byte (${a[3]})`,
    stalled: () => `${a[0]}: không nhận được dữ liệu trong ${a[1]} giây sau ${a[2]} trên ${a[3]} byte; máy chủ có thể đã ngừng`,
    aborted: () => `${a[0]}: đã huỷ tải`,
  }[code] ?? (() => code))(),
  explain: {
    topk: 'Mô hình chấm điểm mọi token bằng z_i = v_i · h rồi biến điểm thành xác suất bằng softmax. Chỉ phần đầu danh sách được hiển thị; phần còn lại của bộ từ vựng chia nhau phần xác suất còn lại.',
    cosnorm: 'Mỗi chấm là một token: nó cùng hướng với h đến đâu (cos θ) so với vector của nó dài bao nhiêu (‖v‖). Vì z = ‖v‖·‖h‖·cos θ, các token trên cùng một đường cong có cùng logit: một vector dài với góc kém hơn vẫn có thể thắng token mà h hướng tới.',
    spectrum: 'E = U Σ Vᵀ. Các giá trị kỳ dị σ_k cho biết E kéo giãn mỗi hướng bao nhiêu; giá trị đầu tiên lớn hơn hẳn phần còn lại, nên phần của h nằm theo v₁ chi phối mọi logit. Các vạch cam là h trong cơ sở đó: σ_k·c_k với c = Vᵀh.',
    loss: 'Cross-entropy L = −log p(token đích). Gradient ∇L = Σ p_i v_i − v_true kéo h về phía embedding của token đích và đẩy nó ra xa những gì mô hình đang kỳ vọng. Mỗi Bước dịch h một đoạn −lr·∇L.',
  },
};

/** 'vi' or 'en' for any value (a tag from a URL, an attribute, the page). */
export function language(tag) {
  return /^vi(-|$)/i.test(typeof tag === 'string' ? tag : '') ? 'vi' : 'en';
}

export function strings(lang) {
  return language(lang) === 'vi' ? VI : EN;
}

/** a whole number with its thousands grouped: 49,152 (English) or 49.152 (Vietnamese). */
export function integer(lang) {
  const sep = language(lang) === 'vi' ? '.' : ',';
  return (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** fixed-digit numbers in the language's style (a decimal comma in Vietnamese). */
export function number(lang) {
  const vi = language(lang) === 'vi';
  return (x, d = 3) => {
    // NaN is shown as NaN: the core never produces one, and a test looks for it on screen.
    if (Number.isNaN(x)) return 'NaN';
    if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
    const s = Math.abs(x) >= 1e7 ? x.toExponential(3) : x.toFixed(d);
    return vi ? s.replace('.', ',') : s;
  };
}
